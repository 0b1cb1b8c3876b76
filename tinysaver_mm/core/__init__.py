"""Framework-light pieces of the TinySaver method (plain torch/numpy)."""
from .calibration import (AccuracyDropCalibrator, BaseCalibrator,
                          ExitRatioCalibrator, GuaranteedDropCalibrator,
                          InfeasibleTargetError, LatencyBudgetCalibrator,
                          MacsBudgetCalibrator,
                          MapDropCalibrator, MetricDropCalibrator,
                          MIoUDropCalibrator, MultiStageDropCalibrator,
                          EXIT_OFF, MultiExitDropCalibrator,
                          MultiExitGuaranteedDropCalibrator, MultiExitMacsBudgetCalibrator,
                          uniform_path,
                          cascade_curve, evaluate_cascade,
                          joint_threshold_search, violation_rate)
from .confidence import CONFIDENCE_RULES, confidence_scores
from .det_confidence import (DET_EXIT_RULES, det_confidence,
                             detection_features, feature_dim)
from .det_box_tokens import (CANDIDATE_PARTS, FLIP_PARTS, TOKEN_PARTS, box_tokens,
                             pairwise_iou, token_dim)
from .det_quality import (category_precision, dataset_ap, entries_by_image,
                          exit_target, image_ap, images_ap, quality_gap)
from .macs import cascade_macs_per_image, macs_saved_pct
from .oric import ORIC_CONTEXT_SIZE, ORIC_NUM_DRAWS, check_entries_cover, oric_scores
from .fields import CASCADE_FIELDS, cascade_field_names, cascade_fields
from .seg_confidence import SEG_EXIT_RULES, check_quantile, pixel_confidence, seg_confidence
from .routing import check_threshold, join_rows, route_batch, shape_groups, take_rows
from .thresholds import read_threshold_file, resolve_thresholds
from .saver_selection import delta_ctr
from .drift import DriftMonitor, check_level, drift_reference
from .latency import StageLatency, cascade_ms_per_img, stage_latencies
from .paired_drop import paired_drop_interval

__all__ = [
    'AccuracyDropCalibrator', 'ExitRatioCalibrator', 'GuaranteedDropCalibrator',
    'MacsBudgetCalibrator', 'LatencyBudgetCalibrator', 'InfeasibleTargetError', 'violation_rate',
    'BaseCalibrator', 'MapDropCalibrator', 'MetricDropCalibrator', 'MIoUDropCalibrator',
    'MultiStageDropCalibrator', 'EXIT_OFF', 'MultiExitDropCalibrator',
    'MultiExitGuaranteedDropCalibrator', 'MultiExitMacsBudgetCalibrator', 'uniform_path',
    'evaluate_cascade', 'joint_threshold_search',
    'cascade_curve', 'delta_ctr', 'CONFIDENCE_RULES', 'confidence_scores',
    'CANDIDATE_PARTS', 'FLIP_PARTS', 'TOKEN_PARTS', 'box_tokens', 'pairwise_iou', 'token_dim',
    'DET_EXIT_RULES', 'det_confidence', 'detection_features', 'feature_dim',
    'category_precision', 'dataset_ap', 'entries_by_image', 'exit_target', 'image_ap', 'images_ap', 'quality_gap',
    'ORIC_CONTEXT_SIZE', 'ORIC_NUM_DRAWS', 'check_entries_cover', 'oric_scores',
    'cascade_macs_per_image', 'macs_saved_pct', 'check_threshold',
    'route_batch', 'take_rows', 'shape_groups', 'join_rows', 'CASCADE_FIELDS', 'cascade_field_names',
    'cascade_fields', 'read_threshold_file', 'resolve_thresholds',
    'DriftMonitor', 'check_level', 'drift_reference',
    'StageLatency', 'cascade_ms_per_img', 'stage_latencies',
    'SEG_EXIT_RULES', 'check_quantile', 'pixel_confidence', 'seg_confidence',
    'paired_drop_interval'
]
