"""Segmentation cascades and the segmentation evaluator head (mmseg MODELS)."""
from .seg_evaluator_head import TinySaverSegEvaluatorHead
from .tinysaver_segmentor import TinySaverSegmentor, slide_crop_count

__all__ = ['TinySaverSegmentor', 'TinySaverSegEvaluatorHead', 'slide_crop_count']
