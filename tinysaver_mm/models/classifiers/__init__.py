"""Classification cascades and the classification evaluator head (mmpretrain MODELS)."""
from .cls_evaluator_head import TinySaverClsEvaluatorHead
from .stage_probs import classifier_probs, preprocess
from .tinysaver_classifier import TinySaverClassifier

__all__ = ['TinySaverClassifier', 'TinySaverClsEvaluatorHead', 'classifier_probs',
           'preprocess']
