"""Evaluation components of tinysaver_mm."""
from .functional import (CocoEntries, cascade_map_curve, policy_scores,
                         routed_figures, routed_map, threshold_at,
                         threshold_for_drop)
from .evaluators import TinySaverEvaluator
from .metrics import TinySaverDetReport, TinySaverMetric, TinySaverSegReport

__all__ = [
    'TinySaverEvaluator', 'TinySaverMetric', 'TinySaverDetReport', 'TinySaverSegReport', 'CocoEntries', 'cascade_map_curve',
    'policy_scores', 'routed_figures', 'routed_map', 'threshold_at',
    'threshold_for_drop'
]
