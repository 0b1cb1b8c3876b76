"""Exit threshold whose cascade time per image fits a milliseconds budget."""
from ..latency import StageLatency, cascade_ms_per_img
from .base import _positive
from .budget import BudgetCalibrator

__all__ = ['LatencyBudgetCalibrator']


class LatencyBudgetCalibrator(BudgetCalibrator):
    """Highest threshold whose measured cascade time per image fits a budget.

    The cost is :func:`~tinysaver_mm.core.latency.cascade_ms_per_img`: the
    saver's time per image at the deployment batch size plus the base's time
    on the sub-batch routing gives it, per image of the batch.

    Args:
        max_ms_per_img (float): Largest allowed milliseconds per image, > 0.
        saver, base (StageLatency): The stages' measured times.
        batch_size (int): Deployment batch size.

    Attributes:
        threshold_, exit_ratio_, accuracy_, base_accuracy_, saver_accuracy_:
            As in :class:`ExitRatioCalibrator`.
        ms_per_img_, cost_ (float): Cascade ms per image at ``threshold_``.

    Raises:
        ValueError: If the budget is not a positive number, or it is below the
            saver's own time at that batch size (no threshold can meet it).
    """

    def __init__(self, max_ms_per_img: float, saver: StageLatency, base: StageLatency,
                 batch_size: int):
        self.max_ms_per_img = _positive(max_ms_per_img, 'max_ms_per_img')
        self.saver, self.base, self.batch_size = saver, base, batch_size
        own = saver.ms_per_img(batch_size)
        if self.max_ms_per_img < own:
            raise ValueError(
                f'max_ms_per_img={max_ms_per_img!r} is infeasible: the saver alone takes '
                f'{own:.5g} ms per image at batch {batch_size}, so even with every image '
                'exiting the cascade cannot be that fast; raise the target, use a larger '
                'batch or a faster backend.')
        self.budget = self.max_ms_per_img

    def cost(self, exit_ratio):
        return cascade_ms_per_img(exit_ratio, self.saver, self.base, self.batch_size)

    def _choose(self, curve, confidence, saver_correct, base_correct):
        idx = super()._choose(curve, confidence, saver_correct, base_correct)
        self.ms_per_img_ = self.cost_
        return idx
