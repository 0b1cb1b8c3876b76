"""Exit threshold of a detection cascade saving the most MACs within an mAP drop."""
from .metric_drop import MetricDropCalibrator

__all__ = ['MapDropCalibrator']


class MapDropCalibrator(MetricDropCalibrator):
    """Detection: the threshold saving the most MACs within a box-mAP drop.

    :class:`MetricDropCalibrator` on rows keyed ``map`` (e.g. from
    :func:`tinysaver_mm.evaluation.functional.cascade_map_curve`);
    ``fit(curve, base_map)`` learns ``threshold_``, ``map_``, ``map_drop_``,
    ``base_map_``, ``macs_saved_pct_`` and ``row_``.

    Args:
        max_drop (float): Allowed mAP loss vs the base, in [0, 1] (0.01 = one
            point of AP@[.5:.95]).
    """

    metric = 'map'
    label = 'mAP'
    unit = 'a fraction of AP (0.01 = one mAP point)'
