"""Framework-light pieces of the TinySaver method (plain torch/numpy)."""
from .calibration import AccuracyDropCalibrator, cascade_curve
from .confidence import CONFIDENCE_RULES, confidence_scores
from .macs import cascade_macs_per_image, macs_saved_pct
from .routing import check_threshold, exit_mask, scatter_rows, split_by_mask

__all__ = [
    'AccuracyDropCalibrator', 'cascade_curve',
    'CONFIDENCE_RULES', 'confidence_scores', 'cascade_macs_per_image',
    'macs_saved_pct', 'check_threshold', 'exit_mask', 'scatter_rows',
    'split_by_mask'
]
