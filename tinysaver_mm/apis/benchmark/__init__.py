"""Wall-clock benchmarks of cascades and their stages (``tools/benchmark.py``).

One module per way of timing: :mod:`.forced_ratio` (the cascade at forced exit
ratios vs its stages), :mod:`.at_thresholds` (at its own thresholds, any
cascade), :mod:`.stages` (plain models), :mod:`.end_to_end` (the Runner's test
loop), :mod:`.pytorch_options` (PyTorch's CPU options); :mod:`.timing` is what
they share, :mod:`.summary` reads a forced-ratio CSV back, :mod:`.latency_table`
is the per-stage latency table latency costs read.
"""
from .at_thresholds import OPERATING_POINT_COLUMNS, benchmark_operating_point, run_operating_point
from .end_to_end import END_TO_END_COLUMNS, end_to_end_throughput
from .forced_ratio import CSV_COLUMNS, benchmark_cascade, forced_threshold, run_benchmark
from .latency_table import (STAGE_LATENCY_COLUMNS, load_stage_latency, record_model_name,
                            stage_latency_rows)
from .pytorch_options import (OPTION_COLUMNS, PYTORCH_OPTIONS, apply_option,
                              pytorch_options_study)
from .stages import benchmark_stages
from .summary import goal_report, markdown_table, read_rows
from .timing import first_test_batch, fuse_stages, packed, stage_alone, time_fn, time_fns

__all__ = [
    'OPERATING_POINT_COLUMNS', 'benchmark_operating_point', 'run_operating_point',
    'END_TO_END_COLUMNS', 'end_to_end_throughput', 'CSV_COLUMNS', 'benchmark_cascade',
    'forced_threshold', 'run_benchmark', 'STAGE_LATENCY_COLUMNS', 'load_stage_latency',
    'record_model_name', 'stage_latency_rows', 'OPTION_COLUMNS', 'PYTORCH_OPTIONS',
    'apply_option', 'pytorch_options_study', 'benchmark_stages', 'goal_report',
    'markdown_table', 'read_rows', 'first_test_batch', 'fuse_stages', 'packed', 'stage_alone',
    'time_fn', 'time_fns'
]
