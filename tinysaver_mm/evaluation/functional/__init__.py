"""Functional evaluation of cascades (plain functions, no registry)."""
from .coco_routing import (CocoEntries, cascade_map_curve, policy_scores, routed_figures,
                           routed_map, threshold_for_drop)
from .policy_report import compare_policies
from .routing_costs import DEFAULT_EXIT_GRID, metric_curve, routed_costs, threshold_at
from .seg_routing import (AREAS, areas_miou, cascade_miou_curve, class_iou, image_areas,
                          image_iou_gap, routed_miou, routed_seg_figures)

__all__ = [
    'DEFAULT_EXIT_GRID', 'CocoEntries', 'cascade_map_curve', 'policy_scores',
    'routed_figures', 'routed_map', 'threshold_at', 'threshold_for_drop', 'metric_curve',
    'routed_costs', 'AREAS', 'areas_miou', 'cascade_miou_curve', 'class_iou', 'image_areas',
    'image_iou_gap', 'routed_miou', 'routed_seg_figures', 'compare_policies'
]
