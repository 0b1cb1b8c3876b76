"""Functional evaluation of cascades (plain functions, no registry)."""
from .coco_routing import (DEFAULT_EXIT_GRID, CocoEntries, cascade_map_curve,
                           policy_scores, routed_figures, routed_map,
                           threshold_at, threshold_for_drop)

__all__ = [
    'DEFAULT_EXIT_GRID', 'CocoEntries', 'cascade_map_curve', 'policy_scores',
    'routed_figures', 'routed_map', 'threshold_at', 'threshold_for_drop'
]
