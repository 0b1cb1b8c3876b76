"""Detection cascades and the evaluator head (mmdet MODELS)."""
from .det_branch import DetBranch, pool_valid
from .det_data_preprocessor import TinySaverDetDataPreprocessor
from .evaluator_head import TinySaverEvaluatorHead
from .set_evaluator_head import TinySaverSetEvaluatorHead
from .tinysaver_detector import TinySaverDetector, detector_num_classes

__all__ = ['DetBranch', 'TinySaverDetDataPreprocessor', 'TinySaverDetector', 'TinySaverEvaluatorHead',
           'TinySaverSetEvaluatorHead',
           'detector_num_classes', 'pool_valid']
