"""Classification cascades and the classification evaluator head (mmpretrain MODELS).

Also registers ``TinySaverDeployedStage`` (``models/backends``): a deployed stage alone.
"""
from ..backends.deployed_stage import TinySaverDeployedStage
from .cls_evaluator_head import TinySaverClsEvaluatorHead
from .stage_probs import classifier_probs, preprocess
from .tinysaver_classifier import TinySaverClassifier

__all__ = ['TinySaverClassifier', 'TinySaverClsEvaluatorHead', 'TinySaverDeployedStage',
           'classifier_probs', 'preprocess']
