"""Highest exit threshold whose mean cascade cost fits a budget (any cost model)."""
import numpy as np

from .base import _TOL, _CurveCalibrator

__all__ = ['BudgetCalibrator']


class BudgetCalibrator(_CurveCalibrator):
    """Highest threshold whose cascade cost at the records' exit share fits a budget.

    The cost is a non-increasing function of the exit share (the saver always
    runs; the base runs on the rest). The highest threshold within budget sends
    the most samples on to the base, the most accuracy-preserving choice. A
    subclass says what the cost is (:meth:`cost`) and its unit.

    Attributes:
        threshold_, exit_ratio_, accuracy_, base_accuracy_, saver_accuracy_:
            As in :class:`ExitRatioCalibrator`.
        cost_ (float): The cost at ``threshold_`` on the records.
    """

    budget: float

    def cost(self, exit_ratio: np.ndarray) -> np.ndarray:
        """Cost per image at each exit share."""
        raise NotImplementedError

    def _choose(self, curve, confidence, saver_correct, base_correct):
        cost = self.cost(curve['exit_ratio'])
        # all exit at the last threshold: cost = the saver's <= budget (checked at init)
        idx = int(np.argmax(cost <= self.budget + _TOL))
        self.cost_ = float(cost[idx])
        return idx
