"""Classification cascades (TinySaverClassifier, the ESN) and the classification
evaluator head (mmpretrain MODELS).

Also registers ``TinySaverDeployedStage`` (``models/backends``): a deployed stage alone.
"""
from ..backends.deployed_stage import TinySaverDeployedStage
from .cls_evaluator_head import TinySaverClsEvaluatorHead
from .stage_probs import classifier_probs, preprocess
from .tinysaver_classifier import TinySaverClassifier
from .tinysaver_esn import TinySaverESN

__all__ = ['TinySaverClassifier', 'TinySaverESN', 'TinySaverClsEvaluatorHead', 'TinySaverDeployedStage',
           'classifier_probs', 'preprocess']
