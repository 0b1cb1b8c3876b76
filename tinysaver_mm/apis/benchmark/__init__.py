"""Wall-clock benchmarks of cascades and their stages (``tools/benchmark.py``)."""
from .at_thresholds import (OPERATING_POINT_COLUMNS, benchmark_operating_point,
                            run_operating_point)
from .end_to_end import END_TO_END_COLUMNS, end_to_end_throughput
from .forced_ratio import (CSV_COLUMNS, STAGE_LATENCY_COLUMNS, benchmark_cascade,
                           benchmark_stages, first_test_batch, forced_threshold, fuse_stages,
                           goal_report, markdown_table, packed, read_rows, run_benchmark,
                           stage_alone, stage_latency_rows, time_fn, time_fns)
from .latency_table import load_stage_latency, record_model_name
from .pytorch_options import (OPTION_COLUMNS, PYTORCH_OPTIONS, apply_option,
                              pytorch_options_study)

__all__ = [
    'OPERATING_POINT_COLUMNS', 'benchmark_operating_point', 'run_operating_point', 'END_TO_END_COLUMNS', 'end_to_end_throughput', 'CSV_COLUMNS',
    'STAGE_LATENCY_COLUMNS', 'benchmark_cascade', 'benchmark_stages', 'first_test_batch',
    'forced_threshold', 'fuse_stages', 'goal_report', 'markdown_table', 'packed', 'read_rows',
    'run_benchmark', 'stage_alone', 'stage_latency_rows', 'time_fn', 'time_fns',
    'load_stage_latency', 'record_model_name', 'OPTION_COLUMNS', 'PYTORCH_OPTIONS',
    'apply_option', 'pytorch_options_study'
]
