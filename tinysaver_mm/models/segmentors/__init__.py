"""Semantic segmentation cascades (mmseg MODELS)."""
from .tinysaver_segmentor import TinySaverSegmentor, slide_crop_count

__all__ = ['TinySaverSegmentor', 'slide_crop_count']
