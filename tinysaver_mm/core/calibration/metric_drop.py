"""Exit threshold saving the most MACs within a drop of a dataset-level metric."""
from typing import Mapping, Sequence

from .base import _TOL, BaseCalibrator, _number

__all__ = ['MetricDropCalibrator']


class MetricDropCalibrator(BaseCalibrator):
    """Threshold saving the most MACs whose metric drop vs the base is <= max_drop.

    For metrics that are not a mean over images (box mAP, dataset-level mIoU):
    each routing needs the metric recomputed, which lives above core (e.g.
    :func:`tinysaver_mm.evaluation.functional.metric_curve`), so this
    calibrator picks from such a precomputed curve and needs only plain
    numbers. Among the rows within the drop the one with the most MACs saved
    wins, ties going to the lower threshold, then to the earlier row.
    Subclasses name the metric (``metric``, the rows' key; ``label``, its name
    in messages) and its unit.

    Args:
        max_drop (float): Allowed loss vs the base, in [0, 1] (same units as
            the rows' metric, a fraction: 0.01 = one point).

    Attributes:
        threshold_ (float): The chosen row's threshold.
        <metric>_ (float): Cascade metric there (e.g. ``map_``, ``miou_``).
        <metric>_drop_ (float): ``base_<metric>_ - <metric>_``.
        macs_saved_pct_ (float): MACs saved there, percent of the base's.
        base_<metric>_ (float): The base's value the drop is measured against.
        row_ (dict): A copy of the chosen row (every figure it holds).

    Raises:
        ValueError: If ``max_drop`` is not a number in [0, 1].
    """

    metric = 'metric'
    label = 'metric'
    unit = 'a fraction (0.01 = one point)'

    def __init__(self, max_drop: float = 0.01):
        self.max_drop = _number(max_drop, 'max_drop')
        if not 0.0 <= self.max_drop <= 1.0:
            raise ValueError(f'max_drop={max_drop!r} must be in [0, 1], {self.unit}.')

    def fit(self, curve: Sequence[Mapping], base_value: float) -> 'MetricDropCalibrator':
        """Choose the curve row to deploy.

        Args:
            curve (Sequence[Mapping]): Rows with ``threshold``, the metric and
                ``macs_saved_pct``; its exit ratio 0 row (threshold above every
                score) keeps the base's value and so is always within the drop.
            base_value (float): The base's metric on the same images.

        Returns:
            The calibrator itself.

        Raises:
            ValueError: If the curve is empty or no row is within the drop
                (the curve lacks its exit ratio 0 row).
        """
        key, label = self.metric, self.label
        rows = list(curve)
        if not rows:
            raise ValueError(f'The {label} curve is empty: give at least its exit ratio 0 '
                             'row (threshold above every score).')
        base_value = _number(base_value, f'base_{key}')
        ok = [row for row in rows if base_value - row[key] <= self.max_drop + _TOL]
        if not ok:
            raise ValueError(
                f'No row of the {label} curve is within max_drop={self.max_drop} of the '
                f'base {label} {base_value:.4f} (the best reaches '
                f'{max(row[key] for row in rows):.4f}). Include the exit ratio 0 row '
                f'(threshold above every score, which keeps the base {label}) or check '
                f'that base_{key} was measured on the same images.')
        best = max(ok, key=lambda row: (row['macs_saved_pct'], -row['threshold']))
        self.row_ = dict(best)
        self.threshold_ = float(best['threshold'])
        setattr(self, f'base_{key}_', base_value)
        setattr(self, f'{key}_', float(best[key]))
        setattr(self, f'{key}_drop_', base_value - float(best[key]))
        self.macs_saved_pct_ = float(best['macs_saved_pct'])
        return self
