"""The public API of tinysaver_mm: what ``tools/`` and user code import.

One shelf per workflow:

* build and run: :func:`init_cascade` (the one way from a config to a cascade),
  :mod:`.runner` (Runner-based train/test), :mod:`.merge_cascade`, :mod:`.deploy`;
* :mod:`.records`: record every stage on a split, and read records back;
* calibration and saver selection: :mod:`.calibrate`, :mod:`.select_saver`,
  with the cost of an image as a :class:`CostModel`;
* :mod:`.exit_heads`: learned exit heads trained from records;
* :mod:`.benchmark`: wall-clock benchmarks;
* :mod:`.studies`: one-off reports on records.

``__all__`` below is the public surface; ``tools/*.py`` import nothing else
from the package.
"""
from tinysaver_mm.core import AccuracyDropCalibrator, cascade_macs_per_image, confidence_scores
from tinysaver_mm.datasets import make_fmnist_det, make_fmnist_seg
from tinysaver_mm.utils import SPLITS, check_outputs, publish_checkpoint
from .benchmark import (benchmark_stages, end_to_end_throughput, goal_report, markdown_table,
                        pytorch_options_study, read_rows, run_benchmark, run_operating_point)
from .calibrate import EXIT_TARGETS, TARGETS, calibrate, calibrate_exits
from .cost_model import COSTS, CostModel
from .dataset_stats import dataset_stats
from .demo_summary import (DEMO_LOGS, DEMO_RESULTS, demo_summary, format_demo_summary,
                           write_demo_summary)
from .deploy import DEFAULT_OPSET, deploy
from .drop_interval import (format_drop_interval, load_correct, predictions_drop_interval,
                            records_drop_interval)
from .exit_heads import train_cls_evaluator, train_evaluator, train_seg_evaluator
from .inference import CASCADE_HOSTS, cascade_scope, init_cascade
from .merge_cascade import cascade_meta, merge_cascade
from .records import (FLIP_MODES, check_aligned, load_det_records, load_exits, load_pair,
                      load_records, load_seg_records, model_stages, predict_stages, record,
                      record_det_views, record_detections, record_segmentation,
                      records_kind)
from .runner import (build_runner, check_dataset_cfg, check_nonempty, finish_distributed,
                     load_cfg, run_test, run_train)
from .select_saver import select_saver, zoo_prefilter
from .studies import (STUDY_POLICIES, cusum_study, det_exit_study, drift_study, esn_report,
                      evaluator_exits, guarantee_report, multistage_report, study_table)

__all__ = [
    # build and run
    'CASCADE_HOSTS', 'cascade_scope', 'init_cascade', 'load_cfg', 'build_runner', 'run_train',
    'run_test', 'finish_distributed', 'check_dataset_cfg', 'check_nonempty', 'cascade_meta',
    'merge_cascade', 'DEFAULT_OPSET', 'deploy',
    # data
    'SPLITS', 'dataset_stats', 'make_fmnist_det', 'make_fmnist_seg',
    # records
    'record', 'record_detections', 'record_segmentation', 'predict_stages', 'model_stages',
    'records_kind', 'load_records', 'load_det_records', 'load_seg_records', 'check_aligned',
    'load_pair', 'load_exits', 'FLIP_MODES', 'record_det_views',
    # calibration and saver selection
    'COSTS', 'CostModel', 'TARGETS', 'EXIT_TARGETS', 'calibrate', 'calibrate_exits',
    'select_saver', 'zoo_prefilter',
    # exit heads
    'train_cls_evaluator', 'train_evaluator', 'train_seg_evaluator',
    # benchmark
    'run_benchmark', 'run_operating_point', 'benchmark_stages', 'end_to_end_throughput',
    'pytorch_options_study', 'read_rows', 'markdown_table', 'goal_report',
    # studies
    'guarantee_report', 'multistage_report', 'esn_report', 'evaluator_exits', 'drift_study',
    'det_exit_study', 'study_table', 'STUDY_POLICIES', 'cusum_study',
    # the method's maths and file helpers the tools use
    'AccuracyDropCalibrator', 'cascade_macs_per_image', 'confidence_scores', 'check_outputs',
    'publish_checkpoint',
    # the demo's summary, the drop's paired interval
    'DEMO_LOGS', 'DEMO_RESULTS', 'demo_summary', 'format_demo_summary', 'write_demo_summary',
    'format_drop_interval', 'load_correct', 'predictions_drop_interval', 'records_drop_interval'
]
