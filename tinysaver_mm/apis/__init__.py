"""Inference and evaluation entry points used by tools/."""
from .dataset_stats import dataset_stats
from .inference import CASCADE_HOSTS, cascade_scope, init_cascade
from .merge_cascade import cascade_meta, merge_cascade
from .records import (check_aligned, load_det_records, load_exits, load_pair, load_records,
                      load_seg_records, model_stages, predict_stages, record,
                      record_detections, record_segmentation, records_kind)
from .benchmark import run_operating_point
from .runner import (build_runner, check_dataset_cfg, check_nonempty,
                     finish_distributed, load_cfg, run_test, run_train)
from .select_saver import select_saver, zoo_prefilter
from .cost_model import COSTS, CostModel
from .calibrate import EXIT_TARGETS, TARGETS, calibrate, calibrate_exits
from .exit_heads import train_cls_evaluator, train_evaluator, train_seg_evaluator

__all__ = [
    'load_det_records', 'record_detections', 'train_evaluator',
    'CASCADE_HOSTS', 'cascade_scope', 'init_cascade', 'cascade_meta', 'merge_cascade',
    'build_runner', 'check_aligned', 'check_dataset_cfg', 'check_nonempty', 'finish_distributed', 'load_cfg',
    'load_records', 'model_stages', 'predict_stages', 'record',
    'run_test', 'run_train', 'select_saver', 'zoo_prefilter', 'records_kind',
    'load_seg_records', 'record_segmentation', 'train_seg_evaluator',
    'train_cls_evaluator', 'dataset_stats', 'run_operating_point', 'COSTS', 'CostModel',
    'EXIT_TARGETS', 'TARGETS', 'calibrate', 'calibrate_exits', 'load_exits', 'load_pair'
]
