"""Exit threshold whose mean cascade cost fits a GMACs budget."""
from .base import _positive
from .budget import BudgetCalibrator

__all__ = ['MacsBudgetCalibrator']


class MacsBudgetCalibrator(BudgetCalibrator):
    """Highest threshold whose mean cascade cost fits a GMACs budget.

    The cost per image is ``gmacs_saver + (1 - exit_ratio) * gmacs_base``
    (the saver always runs). The highest threshold within budget sends the
    most samples on to the base, the most accuracy-preserving choice.

    Args:
        max_gmacs (float): Largest allowed mean GMACs per image, > 0.
        gmacs_saver (float): GMACs per image of the saver, > 0.
        gmacs_base (float): GMACs per image of the base, > 0.

    Attributes:
        threshold_, exit_ratio_, accuracy_, base_accuracy_, saver_accuracy_:
            As in :class:`ExitRatioCalibrator`.
        gmacs_, cost_ (float): Mean GMACs per image at ``threshold_`` on the records.

    Raises:
        ValueError: If a cost is not a positive number, or the budget is below
            the saver's own cost (no threshold can meet it).
    """

    def __init__(self, max_gmacs: float, gmacs_saver: float,
                 gmacs_base: float):
        self.max_gmacs = _positive(max_gmacs, 'max_gmacs')
        self.gmacs_saver = _positive(gmacs_saver, 'gmacs_saver')
        self.gmacs_base = _positive(gmacs_base, 'gmacs_base')
        if self.max_gmacs < self.gmacs_saver:
            raise ValueError(
                f'max_gmacs={max_gmacs!r} is infeasible: the saver alone costs '
                f'gmacs_saver={gmacs_saver!r} per image, so even with every '
                'sample exiting the cascade cannot be that cheap.')
        self.budget = self.max_gmacs

    def cost(self, exit_ratio):
        return self.gmacs_saver + (1.0 - exit_ratio) * self.gmacs_base

    def _choose(self, curve, confidence, saver_correct, base_correct):
        idx = super()._choose(curve, confidence, saver_correct, base_correct)
        self.gmacs_ = self.cost_
        return idx
