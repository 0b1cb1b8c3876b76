"""A tiny classifier stage (mmpretrain ``ImageClassifier``) with hand-countable MACs."""
from typing import Optional

import torch
import torch.nn as nn

__all__ = ['TinyTestNet', 'tiny_macs', 'stage_cfg', 'register_test_models']


class TinyTestNet(nn.Module):
    """conv 1->C (3x3, stride 2, pad 1) on HxW, ReLU, flatten; no BN.

    Args:
        channels (int): Output channels of the convolution.
    """

    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> tuple:
        return (torch.relu(self.conv(x)).flatten(1), )


def tiny_macs(channels: int, size: int, num_classes: int) -> int:
    """Hand count: conv MACs + linear MACs (biases and ReLU not counted)."""
    out = (size + 1) // 2
    return out * out * channels * 9 + out * out * channels * num_classes


def register_test_models() -> None:
    """Register :class:`TinyTestNet` into mmpretrain's MODELS (idempotent)."""
    import tinysaver_mm.models.classifiers  # noqa: F401  (registers the cascade)
    from mmpretrain.registry import MODELS
    MODELS.register_module('TinyTestNet', module=TinyTestNet, force=True)


def stage_cfg(channels: int = 4, size: int = 8, num_classes: int = 10, mean: float = 0.0,
              std: float = 1.0, head: Optional[dict] = None) -> dict:
    """An ``ImageClassifier`` dict around :class:`TinyTestNet` with its own preprocessor."""
    head = head or dict(type='LinearClsHead', num_classes=num_classes,
                        in_channels=((size + 1) // 2) ** 2 * channels)
    return dict(type='ImageClassifier', backbone=dict(type='TinyTestNet', channels=channels),
                head=head, data_preprocessor=dict(type='ClsDataPreprocessor',
                                                  mean=[mean], std=[std]))
