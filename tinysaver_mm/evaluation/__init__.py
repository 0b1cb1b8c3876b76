"""Evaluation components of tinysaver_mm."""
from .functional import (CocoEntries, cascade_map_curve, policy_scores,
                         routed_figures, routed_map, threshold_at,
                         threshold_for_drop)
from .metrics import TinySaverDetReport, TinySaverMetric

__all__ = [
    'TinySaverMetric', 'TinySaverDetReport', 'CocoEntries', 'cascade_map_curve',
    'policy_scores', 'routed_figures', 'routed_map', 'threshold_at',
    'threshold_for_drop'
]
