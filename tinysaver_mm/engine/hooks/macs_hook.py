"""Hook that measures and logs each cascade stage's MACs on an epoch's first batch."""
import copy
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import HOOKS

from tinysaver_mm.utils import check_nonempty, refuse_tta

__all__ = ['TinySaverMACsHook']


@HOOKS.register_module()
class TinySaverMACsHook(Hook):
    """Measure each stage's MACs per image at its real input shape, and log them.

    On the first batch of a validation or test epoch (the batch the loop
    itself drew: the hook never draws one, so seeded random test transforms
    and the loader's RNG give the same images with or without it), the hook
    preprocesses a copy of the batch's first image as the cascade would and
    runs mmengine's complexity analysis on every stage (one image each). The
    figures go to the log and to the message hub (``tinysaver/stage_macs``).
    It first has the cascade check the dataloader's pipeline against the one
    its calibration recorded (resize, crop, pad: ``check_test_pipeline``).

    Raises:
        TypeError: If the runner's model is not a TinySaver cascade.
        ValueError: If the epoch's dataset is empty.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._split: Optional[str] = None

    def before_val_epoch(self, runner) -> None:
        """Check the model and data; measure on the epoch's first batch."""
        self._start(runner, runner.val_dataloader, 'val')

    def before_test_epoch(self, runner) -> None:
        """Check the model and data; measure on the epoch's first batch."""
        self._start(runner, runner.test_dataloader, 'test')

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Measure on the first batch of the epoch."""
        self._first_batch(runner, data_batch)

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Measure on the first batch of the epoch."""
        self._first_batch(runner, data_batch)

    def _start(self, runner, dataloader, split: str) -> None:
        model = self._cascade(runner)
        check_nonempty(dataloader.dataset, split)
        loader_cfg = runner.cfg.get(f'{split}_dataloader') or {}
        model.check_test_pipeline((loader_cfg.get('dataset') or {}).get('pipeline'),
                                  f'{split}_dataloader')
        self._split = split

    @staticmethod
    def _cascade(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        inner = getattr(model, 'module', None)
        if isinstance(model, BaseTTAModel) and hasattr(inner, 'measure_stage_macs'):
            refuse_tta('TinySaverMACsHook', type(model).__name__)
        if not hasattr(model, 'measure_stage_macs'):
            raise TypeError(
                f'TinySaverMACsHook needs a TinySaver cascade, but the model is '
                f'{type(model).__name__}. Use TinySaverClassifier/Detector or '
                'remove the hook from custom_hooks.')
        return model

    def _first_batch(self, runner, data_batch) -> None:
        if self._split is None or data_batch is None:
            return
        self._split = None
        self.measure(runner, data_batch)

    def measure(self, runner, data_batch: dict) -> Dict[str, int]:
        """MACs of every part on the first image of a raw batch; logged.

        The image and its data sample are copied first (the cascade's
        preprocessor may write into samples), so the loop's batch is left as
        it was.

        Returns:
            dict[str, int]: MACs of each stage and overhead part.
        """
        model = self._cascade(runner)
        samples = data_batch.get('data_samples')
        one = copy.deepcopy({'inputs': data_batch['inputs'][:1],
                             'data_samples': None if samples is None else samples[:1]})
        batch = model.data_preprocessor(one, False)
        macs = model.measure_stage_macs(batch['inputs'], batch.get('data_samples'))
        for role, value in macs.items():
            runner.logger.info(f'TinySaver {role}: {value / 1e9:.6f} GMACs/img')
        runner.message_hub.update_info('tinysaver/stage_macs', macs)
        return macs
