"""Shared fixtures: tiny stage models with hand-countable MACs."""
import os
import sys

import pytest
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)



class TinyTestNet(nn.Module):
    """conv 1->C (3x3, stride 2, pad 1) on HxW, ReLU, flatten; no BN."""

    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return (torch.relu(self.conv(x)).flatten(1), )


def tiny_macs(channels: int, size: int, num_classes: int) -> int:
    """Hand count: conv MACs + linear MACs (biases and ReLU not counted)."""
    out = (size + 1) // 2
    return out * out * channels * 9 + out * out * channels * num_classes


@pytest.fixture(scope='session', autouse=True)
def register_test_models():
    import tinysaver_mm  # noqa: F401  (registers the cascade)
    from mmpretrain.registry import MODELS
    MODELS.register_module('TinyTestNet', module=TinyTestNet, force=True)


def stage_cfg(channels=4, size=8, num_classes=10, mean=0.0, std=1.0, head=None):
    """An ImageClassifier dict around TinyTestNet."""
    head = head or dict(type='LinearClsHead', num_classes=num_classes,
                        in_channels=((size + 1) // 2) ** 2 * channels)
    return dict(type='ImageClassifier', backbone=dict(type='TinyTestNet', channels=channels),
                head=head, data_preprocessor=dict(type='ClsDataPreprocessor',
                                                  mean=[mean], std=[std]))
