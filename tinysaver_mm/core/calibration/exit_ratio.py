"""Exit threshold that lets at least a target share of samples exit."""
import numpy as np

from .base import _TOL, _CurveCalibrator, _number

__all__ = ['ExitRatioCalibrator']


class ExitRatioCalibrator(_CurveCalibrator):
    """Highest threshold whose exit share on the records reaches a target.

    The highest such threshold lets the fewest samples exit while meeting the
    target, so it keeps the cascade as close to the base as the target allows.

    Args:
        target_exit_ratio (float): Least share of samples that must exit at
            the saver, in [0, 1].

    Attributes:
        threshold_ (float): The chosen threshold.
        exit_ratio_, accuracy_, base_accuracy_, saver_accuracy_: As in
            :class:`~tinysaver_mm.core.calibration.AccuracyDropCalibrator`.

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
