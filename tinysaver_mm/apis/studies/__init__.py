"""One-off studies on records: the calibration guarantee, 3-stage cascades, the ESN, drift."""
from .cusum_study import cusum_study
from .det_exit_study import STUDY_POLICIES, det_exit_study, study_table
from .drift_study import drift_study
from .esn_report import METHODS, esn_report, evaluator_exits, oracle_point
from .reports import guarantee_report, multistage_report

__all__ = ['cusum_study', 'STUDY_POLICIES', 'det_exit_study', 'study_table', 'drift_study', 'METHODS', 'esn_report', 'evaluator_exits', 'oracle_point',
           'guarantee_report', 'multistage_report']
