"""Hook that trains a cascade's trainable part alone and checkpoints only that part."""
from collections import OrderedDict
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

__all__ = ['TinySaverPartCheckpointHook']


def _cascade_of(runner):
    """The runner's cascade (unwrapped), refusing a model without a trainable part."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if getattr(model, 'train_part', None) is None:
        raise TypeError(f'TinySaverPartCheckpointHook needs a cascade with a trainable part '
                        f'(e.g. TinySaverESN\'s exits); the runner\'s model is a '
                        f'{type(model).__name__}. Remove the hook from custom_hooks.')
    return model


@HOOKS.register_module()
class TinySaverPartCheckpointHook(Hook):
    """Checkpoints of a cascade's trainable part only, bound to its stages.

    Training a cascade's trainable part (e.g. ``TinySaverESN``'s exits) keeps
    its saver and base frozen, so their weights in every checkpoint would be
    copies of the files the config names. Before training, the part records
    the fingerprints of the stages it trains for (``bind_trainable_part``);
    each checkpoint mmengine's ``CheckpointHook`` writes then holds only that
    part's weights, under their own names (loadable strictly as the part's
    ``checkpoint``, e.g. ``model.exits.checkpoint=...``), with
    ``meta['trained_part']``. Resuming from such a checkpoint puts the frozen
    stages' current weights back beside the part before it loads.

    Raises:
        TypeError: If the runner's model has no trainable part.
        ValueError: On resume, if the checkpoint holds another part.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        """Bind the trainable part to the stages it trains for."""
        part = _cascade_of(runner).bind_trainable_part()
        runner.logger.info(f'TinySaverPartCheckpointHook: checkpoints hold the {part} only.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep only the trainable part's weights (its own key names)."""
        model = _cascade_of(runner)
        prefix = f'{model.train_part}.'
        state = checkpoint['state_dict']
        checkpoint['state_dict'] = OrderedDict(
            (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
        checkpoint.setdefault('meta', {})['trained_part'] = model.train_part

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Resume: a part-only checkpoint gets the frozen stages' weights back."""
        part: Optional[str] = (checkpoint.get('meta') or {}).get('trained_part')
        if part is None:
            return
        model = _cascade_of(runner)
        if part != model.train_part:
            raise ValueError(f'The checkpoint holds a trained {part!r}, but this cascade '
                             f'trains its {model.train_part!r}; resume from a checkpoint '
                             'of this config.')
        whole = OrderedDict((k, v) for k, v in model.state_dict().items()
                            if not k.startswith(f'{part}.'))
        whole.update((f'{part}.{k}', v) for k, v in checkpoint['state_dict'].items())
        checkpoint['state_dict'] = whole
