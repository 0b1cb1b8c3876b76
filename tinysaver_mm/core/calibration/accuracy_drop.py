"""Exit threshold with the most exits within a top-1 drop on the records."""
import numpy as np

from .base import _CurveCalibrator

__all__ = ['AccuracyDropCalibrator']


class AccuracyDropCalibrator(_CurveCalibrator):
    """Lowest threshold (most exits) whose accuracy drop vs the base is <= eps.

    The drop is a point estimate on the calibration records; it carries no
    guarantee on new data.

    Args:
        max_drop (float): Largest allowed top-1 drop vs the base, as a
            fraction in (0, 1) (0.001 = 0.1 points).

    Attributes:
        threshold_ (float): The chosen threshold.
        exit_ratio_ (float): Exit share at ``threshold_`` on the records.
        accuracy_ (float): Cascade top-1 at ``threshold_`` on the records.
        base_accuracy_ (float): Base top-1 on the records.
        saver_accuracy_ (float): Saver top-1 on the records.
    """

    def __init__(self, max_drop: float = 0.001):
        if not 0.0 < float(max_drop) < 1.0:
            raise ValueError(f'max_drop={max_drop!r} must be in (0, 1), a '
                             'fraction of top-1 (e.g. 0.001 = 0.1 points).')
        self.max_drop = float(max_drop)

    def _choose(self, curve, confidence, saver_correct, base_correct):
        """Most exits whose accuracy is within ``max_drop`` of the base's.

        Raises:
            ValueError: If even the strictest threshold drops too much.
        """
        base = float(np.mean(base_correct))
        ok = np.flatnonzero(curve['accuracy'] >= base - self.max_drop - 1e-12)
        if ok.size == 0:
            raise ValueError(
                f'No threshold keeps the drop within {self.max_drop}: even at '
                f'1.0 the cascade reaches {curve["accuracy"][0]:.4f} vs the '
                f'base {base:.4f}. Allow a larger max_drop.')
        return int(ok[-1])
