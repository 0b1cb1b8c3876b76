"""Inference and evaluation entry points used by tools/."""
from .dataset_stats import dataset_stats
from .demo_summary import DEMO_LOGS, DEMO_RESULTS, demo_summary, format_demo_summary
from .drop_interval import (format_drop_interval, load_correct,
                            predictions_drop_interval, records_drop_interval)
from .det_records import load_det_records, record_detections
from .merge_cascade import build_cascade, cascade_meta, merge_cascade
from .records import (check_aligned, load_records, model_stages,
                      predict_stages, record, records_kind)
from .operating_point import build_any_cascade, run_operating_point
from .runner import (build_runner, check_dataset_cfg, check_nonempty,
                     finish_distributed, load_cfg, run_test, run_train)
from .select_saver import select_saver, zoo_prefilter
from .seg_records import load_seg_records, record_segmentation
from .train_cls_evaluator import train_cls_evaluator
from .train_evaluator import train_evaluator
from .train_seg_evaluator import train_seg_evaluator

__all__ = [
    'load_det_records', 'record_detections', 'train_evaluator',
    'build_cascade', 'cascade_meta', 'merge_cascade',
    'build_runner', 'check_aligned', 'check_dataset_cfg', 'check_nonempty', 'finish_distributed', 'load_cfg',
    'load_records', 'model_stages', 'predict_stages', 'record',
    'run_test', 'run_train', 'select_saver', 'zoo_prefilter', 'records_kind',
    'load_seg_records', 'record_segmentation', 'train_seg_evaluator',
    'train_cls_evaluator', 'dataset_stats', 'build_any_cascade', 'run_operating_point',
    'DEMO_LOGS', 'DEMO_RESULTS', 'demo_summary', 'format_demo_summary',
    'format_drop_interval', 'load_correct', 'predictions_drop_interval', 'records_drop_interval'
]
