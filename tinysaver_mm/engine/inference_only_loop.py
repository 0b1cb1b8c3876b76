"""The train loop of an inference cascade's config: it refuses to train, saying what trains."""
from mmengine.registry import LOOPS
from mmengine.runner import BaseLoop

__all__ = ['TinySaverInferenceOnlyLoop']


@LOOPS.register_module()
class TinySaverInferenceOnlyLoop(BaseLoop):
    """``train_cfg`` of a cascade config: ``tools/train.py`` on it is refused at once.

    An inference cascade's config keeps its stages' training data as
    ``train_dataloader`` (the host tools that show or read it,
    ``browse_dataset.py`` and mmdet's ``analyze_results.py``, run on it);
    mmengine's ``Runner`` takes ``train_dataloader``, ``train_cfg`` and
    ``optim_wrapper`` together, so the config gives this loop, which is only
    built when training starts, and refuses.

    Raises:
        ValueError: Always, naming the stage configs to train instead.
    """

    def __init__(self, runner, dataloader=None, **kwargs):
        model = runner.cfg.get('model', {})
        stages = [f"{r}: {model[r]['cfg_path']}" for r in ('saver', 'base')
                  if isinstance(model.get(r), dict) and model[r].get('cfg_path')]
        raise ValueError(
            f'{model.get("type", "This model")} is an inference cascade: it does not train '
            '(its stages are frozen; train_dataloader is their training data, kept for the '
            'tools that show or read it). Train each stage with its own config, e.g. python '
            'tools/train.py <stage config>' + (f" ({'; '.join(stages)})" if stages else '') +
            ', and an evaluator head with tools/train_evaluator.py.')

    def run(self):  # pragma: no cover - never built
        raise NotImplementedError
