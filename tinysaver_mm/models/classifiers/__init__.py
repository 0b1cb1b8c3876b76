"""Classification cascades (mmpretrain MODELS)."""
from .tinysaver_classifier import TinySaverClassifier

__all__ = ['TinySaverClassifier']
