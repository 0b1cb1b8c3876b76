"""Backbones registered into mmpretrain's MODELS, and stage adapters (the ESN's staged base)."""
from .stage_adapters import (SUPPORTED_BACKBONES, ConvNeXtAdapter, ResNetAdapter, StageAdapter,
                             SwinAdapter, stage_adapter)
from .tiny_convnet import TinyConvNet

__all__ = ['TinyConvNet', 'StageAdapter', 'ResNetAdapter', 'ConvNeXtAdapter', 'SwinAdapter',
           'stage_adapter', 'SUPPORTED_BACKBONES']
