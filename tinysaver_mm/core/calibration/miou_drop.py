"""Exit threshold of a segmentation cascade saving the most MACs within an mIoU drop."""
from .metric_drop import MetricDropCalibrator

__all__ = ['MIoUDropCalibrator']


class MIoUDropCalibrator(MetricDropCalibrator):
    """Segmentation: the threshold saving the most MACs within a dataset-level mIoU drop.

    mIoU as mmseg's ``IoUMetric`` defines it (intersections and unions summed
    over every image, then IoU per class, classes absent everywhere left
    out), so a routing's mIoU is not a mean over images; the rows come from
    :func:`tinysaver_mm.evaluation.functional.cascade_miou_curve`.
    ``fit(curve, base_miou)`` learns ``threshold_``, ``miou_``,
    ``miou_drop_``, ``base_miou_``, ``macs_saved_pct_`` and ``row_``.

    Args:
        max_drop (float): Allowed mIoU loss vs the base, in [0, 1] (0.01 = one
            mIoU point).
    """

    metric = 'miou'
    label = 'mIoU'
    unit = 'a fraction of IoU (0.01 = one mIoU point)'
