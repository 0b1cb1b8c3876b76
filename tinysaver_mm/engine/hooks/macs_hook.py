"""Hook that measures and logs each cascade stage's MACs before evaluation."""
from typing import Dict

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import HOOKS

from tinysaver_mm.utils import check_nonempty, refuse_tta

__all__ = ['TinySaverMACsHook']


@HOOKS.register_module()
class TinySaverMACsHook(Hook):
    """Measure each stage's MACs per image at its real input shape, and log them.

    Before a validation or test epoch, the hook takes the first batch of that
    epoch's dataloader, preprocesses it as the cascade would, and runs
    mmengine's complexity analysis on every stage (one image each). The
    figures go to the log and to the message hub (``tinysaver/stage_macs``).
    It first has the cascade check the dataloader's pipeline against the one
    its calibration recorded (resize, crop, pad: ``check_test_pipeline``).

    Raises:
        TypeError: If the runner's model is not a TinySaver cascade.
        ValueError: If the dataloader's dataset is empty.
    """

    priority = 'NORMAL'

    def before_val_epoch(self, runner) -> None:
        """Measure on the validation dataloader."""
        self._measure(runner, runner.val_dataloader, 'val')

    def before_test_epoch(self, runner) -> None:
        """Measure on the test dataloader."""
        self._measure(runner, runner.test_dataloader, 'test')

    @staticmethod
    def _measure(runner, dataloader, split: str) -> Dict[str, int]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        inner = getattr(model, 'module', None)
        if isinstance(model, BaseTTAModel) and hasattr(inner, 'measure_stage_macs'):
            refuse_tta('TinySaverMACsHook', type(model).__name__)
        if not hasattr(model, 'measure_stage_macs'):
            raise TypeError(
                f'TinySaverMACsHook needs a TinySaver cascade, but the model is '
                f'{type(model).__name__}. Use TinySaverClassifier/Detector or '
                'remove the hook from custom_hooks.')
        check_nonempty(dataloader.dataset, split)
        loader_cfg = runner.cfg.get(f'{split}_dataloader') or {}
        model.check_test_pipeline((loader_cfg.get('dataset') or {}).get('pipeline'),
                                  f'{split}_dataloader')
        batch = model.data_preprocessor(next(iter(dataloader)), False)
        macs = model.measure_stage_macs(batch['inputs'], batch.get('data_samples'))
        for role, value in macs.items():
            runner.logger.info(f'TinySaver {role}: {value / 1e9:.6f} GMACs/img')
        runner.message_hub.update_info('tinysaver/stage_macs', macs)
        return macs
