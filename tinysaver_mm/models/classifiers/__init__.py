"""Classification cascades (mmpretrain MODELS)."""
from .stage_probs import classifier_probs, preprocess
from .tinysaver_classifier import TinySaverClassifier

__all__ = ['TinySaverClassifier', 'classifier_probs', 'preprocess']
