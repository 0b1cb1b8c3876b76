"""Segmentation cascades and the segmentation evaluator head (mmseg MODELS)."""
from .seg_evaluator_head import TinySaverSegEvaluatorHead

__all__ = ['TinySaverSegEvaluatorHead']
