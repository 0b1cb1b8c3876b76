"""Backbones registered into mmpretrain's MODELS."""
from .tiny_convnet import TinyConvNet

__all__ = ['TinyConvNet']
