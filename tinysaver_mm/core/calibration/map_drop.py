"""Exit threshold of a detection cascade saving the most MACs within an mAP drop."""
from typing import Mapping, Sequence

from .base import _TOL, BaseCalibrator, _number

__all__ = ['MapDropCalibrator']


class MapDropCalibrator(BaseCalibrator):
    """Threshold saving the most MACs whose box-mAP drop vs the base is <= max_drop.

    Box mAP needs a COCO evaluation of each routing, which lives above core
    (:func:`tinysaver_mm.evaluation.functional.cascade_map_curve`); this
    calibrator picks from such a precomputed curve, so it needs only plain
    numbers. Among the rows within the drop the one with the most MACs saved
    wins, ties going to the lower threshold, then to the earlier row.

    Args:
        max_drop (float): Allowed mAP loss vs the base, in [0, 1] (same units
            as the rows' ``map``: 0.01 = one point of AP@[.5:.95]).

    Attributes:
        threshold_ (float): The chosen row's threshold.
        map_ (float): Cascade mAP there.
        map_drop_ (float): ``base_map_ - map_``.
        macs_saved_pct_ (float): MACs saved there, percent of the base's.
        base_map_ (float): The base's mAP the drop is measured against.
        row_ (dict): A copy of the chosen row (every figure it holds).

    Raises:
        ValueError: If ``max_drop`` is not a number in [0, 1].
    """

    def __init__(self, max_drop: float = 0.01):
        self.max_drop = _number(max_drop, 'max_drop')
        if not 0.0 <= self.max_drop <= 1.0:
            raise ValueError(f'max_drop={max_drop!r} must be a fraction of AP in [0, 1] '
                             '(0.01 = one mAP point).')

    def fit(self, curve: Sequence[Mapping], base_map: float) -> 'MapDropCalibrator':
        """Choose the curve row to deploy.

        Args:
            curve (Sequence[Mapping]): Rows with ``threshold``, ``map`` and
                ``macs_saved_pct`` (e.g. from ``cascade_map_curve``; its exit
                ratio 0 row, threshold above every score, keeps the base's
                mAP and so is always within the drop).
            base_map (float): The base's mAP on the same images.

        Returns:
            The calibrator itself.

        Raises:
            ValueError: If the curve is empty or no row is within the drop
                (the curve lacks its exit ratio 0 row).
        """
        rows = list(curve)
        if not rows:
            raise ValueError('The mAP curve is empty: give at least its exit ratio 0 row '
                             '(threshold above every score).')
        base_map = _number(base_map, 'base_map')
        ok = [row for row in rows if base_map - row['map'] <= self.max_drop + _TOL]
        if not ok:
            raise ValueError(
                f'No row of the mAP curve is within max_drop={self.max_drop} of the '
                f'base mAP {base_map:.4f} (the best reaches '
                f'{max(row["map"] for row in rows):.4f}). Include the exit ratio 0 row '
                '(threshold above every score, which keeps the base mAP) or check that '
                'base_map was measured on the same images.')
        best = max(ok, key=lambda row: (row['macs_saved_pct'], -row['threshold']))
        self.base_map_ = base_map
        self.row_ = dict(best)
        self.threshold_ = float(best['threshold'])
        self.map_ = float(best['map'])
        self.map_drop_ = base_map - self.map_
        self.macs_saved_pct_ = float(best['macs_saved_pct'])
        return self
