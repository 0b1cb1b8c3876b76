"""Pick an exit threshold that meets an exit-share or a MACs budget."""
import math

import numpy as np

from .calibration import _CurveCalibrator

__all__ = ['ExitRatioCalibrator', 'MacsBudgetCalibrator']

_TOL = 1e-12  # float slack when comparing shares and costs to a target


def _number(value, name: str) -> float:
    """``value`` as a finite float, or a ValueError naming it."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number, got {value!r}.') from None
    if not math.isfinite(out):
        raise ValueError(f'{name} must be finite, got {value!r}.')
    return out


def _positive(value, name: str) -> float:
    """``value`` as a positive finite float, or a ValueError naming it."""
    out = _number(value, name)
    if out <= 0.0:
        raise ValueError(f'{name} must be positive, got {value!r}.')
    return out


class ExitRatioCalibrator(_CurveCalibrator):
    """Highest threshold whose exit share on the records reaches a target.

    The highest such threshold lets the fewest samples exit while meeting the
    target, so it keeps the cascade as close to the base as the target allows.

    Args:
        target_exit_ratio (float): Least share of samples that must exit at
            the saver, in [0, 1].

    Attributes:
        threshold_ (float): The chosen threshold.
        exit_ratio_ (float): Exit share at ``threshold_`` on the records.
        accuracy_ (float): Cascade top-1 at ``threshold_`` on the records.
        base_accuracy_ (float): Base top-1 on the records.
        saver_accuracy_ (float): Saver top-1 on the records.

    Raises:
        ValueError: If the target is not a number or lies outside [0, 1].
    """

    def __init__(self, target_exit_ratio: float):
        target = _number(target_exit_ratio, 'target_exit_ratio')
        if target > 1.0:
            raise ValueError(
                f'target_exit_ratio={target_exit_ratio!r} is infeasible: at '
                'most every sample (a share of 1) can exit.')
        if target < 0.0:
            raise ValueError(f'target_exit_ratio={target_exit_ratio!r} must '
                             'be in [0, 1] (a share of the samples).')
        self.target_exit_ratio = target

    def _choose(self, curve, confidence, saver_correct, base_correct):
        # the last threshold lets every sample exit, so ``ok`` is never empty;
        # the curve is sorted by decreasing threshold: first True = highest
        ok = curve['exit_ratio'] >= self.target_exit_ratio - _TOL
        return int(np.argmax(ok))


class MacsBudgetCalibrator(_CurveCalibrator):
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
        gmacs_ (float): Mean GMACs per image at ``threshold_`` on the records.

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

    def _choose(self, curve, confidence, saver_correct, base_correct):
        cost = self.gmacs_saver + (1.0 - curve['exit_ratio']) * self.gmacs_base
        # all exit at the last threshold: cost = saver <= budget (checked)
        idx = int(np.argmax(cost <= self.max_gmacs + _TOL))
        self.gmacs_ = float(cost[idx])
        return idx
