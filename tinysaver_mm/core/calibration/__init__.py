"""Calibrators: choose a cascade's exit threshold(s) from records.

One class per file, all following :class:`BaseCalibrator`'s contract:
``fit(records...)`` returns the calibrator, the learned threshold is
``threshold_`` (``thresholds_`` for more than two stages).

=============================  ==============================================
``AccuracyDropCalibrator``     most exits with top-1 drop <= max_drop
``GuaranteedDropCalibrator``   drop <= max_drop with probability >= 1 - delta
``ExitRatioCalibrator``        exit share >= a target
``MacsBudgetCalibrator``       mean GMACs per image <= a budget
``LatencyBudgetCalibrator``    measured ms per image <= a budget
``MultiStageDropCalibrator``   k stages: cheapest with drop <= max_drop (exhaustive grid)
``MultiExitDropCalibrator``    many exits (ESN): cheapest with drop <= max_drop
``MultiExitMacsBudgetCalibrator``  many exits: best top-1 within a MACs budget
``MultiExitGuaranteedDropCalibrator``  many exits: drop certified along a path
``MetricDropCalibrator``       most MACs saved, drop of a dataset-level metric
``MapDropCalibrator``          detection: most MACs saved, mAP drop <= max_drop
``MIoUDropCalibrator``         segmentation: most MACs saved, mIoU drop <= max_drop
=============================  ==============================================
"""
from .accuracy_drop import AccuracyDropCalibrator
from .base import BaseCalibrator, cascade_curve
from .exit_ratio import ExitRatioCalibrator
from .guaranteed_drop import (GuaranteedDropCalibrator, InfeasibleTargetError,
                              records_needed, violation_rate)
from .budget import BudgetCalibrator
from .latency_budget import LatencyBudgetCalibrator
from .macs_budget import MacsBudgetCalibrator
from .map_drop import MapDropCalibrator
from .metric_drop import MetricDropCalibrator
from .miou_drop import MIoUDropCalibrator
from .multi_exit import (EXIT_OFF, MultiExitDropCalibrator,
                         MultiExitGuaranteedDropCalibrator, MultiExitMacsBudgetCalibrator,
                         uniform_path)
from .multistage_drop import (MultiStageDropCalibrator, answer_correct, answering_stage, evaluate_cascade,
                              joint_threshold_search)

__all__ = [
    'BaseCalibrator', 'cascade_curve', 'AccuracyDropCalibrator',
    'GuaranteedDropCalibrator', 'InfeasibleTargetError', 'violation_rate',
    'records_needed', 'ExitRatioCalibrator', 'BudgetCalibrator', 'LatencyBudgetCalibrator', 'MacsBudgetCalibrator', 'MapDropCalibrator',
    'MetricDropCalibrator', 'MIoUDropCalibrator',
    'MultiStageDropCalibrator', 'answer_correct', 'answering_stage', 'evaluate_cascade',
    'joint_threshold_search', 'EXIT_OFF', 'MultiExitDropCalibrator',
    'MultiExitMacsBudgetCalibrator', 'MultiExitGuaranteedDropCalibrator', 'uniform_path'
]
