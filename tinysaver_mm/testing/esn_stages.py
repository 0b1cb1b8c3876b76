"""Tiny random-weight ResNet_CIFAR classifiers and an ESN around them (fast tests)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

__all__ = ['resnet_cifar_cfg', 'esn_cfg', 'ExitModulesProbe', 'exit_modules_macs']


def resnet_cifar_cfg(width: int = 4, num_classes: int = 10, strides=(1, 2, 2, 2),
                     mean: float = 0.0, std: float = 255.0) -> dict:
    """An mmpretrain ``ImageClassifier`` around a 1-channel ResNet-18 (CIFAR stem).

    Args:
        width (int): Stem and base channels (the last stage has ``8 * width``).
        num_classes (int): Classes of the linear head.
        strides (tuple): Stride of each of the 4 stages.
        mean, std (float): Its own data preprocessor's normalisation.

    Returns:
        dict: The model config, with its own ``data_preprocessor``.
    """
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1, stem_channels=width,
                              base_channels=width, strides=strides, out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * width),
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=[mean], std=[std]))


def esn_cfg(threshold: Sequence[float], after: Sequence[int] = (0, 2), dim: int = 8,
            num_attn_layers: int = 2, saver_token: bool = True, num_classes: int = 10,
            saver: Optional[dict] = None, base: Optional[dict] = None, **exits) -> dict:
    """A ``TinySaverESN`` config of a width-2 saver and a width-4 base (random weights).

    Returns:
        dict: The model config (build it in mmpretrain's scope).
    """
    return dict(type='TinySaverESN',
                saver=saver or resnet_cifar_cfg(2, num_classes, strides=(2, 2, 2, 2)),
                base=base or resnet_cifar_cfg(4, num_classes, mean=128.0, std=64.0),
                exits=dict(dim=dim, num_attn_layers=num_attn_layers,
                           after=list(after) if isinstance(after, tuple) else after,
                           saver_token=saver_token, **exits),
                threshold=list(threshold))


class ExitModulesProbe(nn.Module):
    """What exit ``j`` of an ESN computes besides the base stages, for a count
    of that part alone: the token(s) it embeds (exit 1 also the saver's),
    causal attention over the tokens up to its own, and its head.

    Args:
        exits (nn.Module): The ESN's ``ESNExits``.
        j (int): The exit (1-based).
    """

    def __init__(self, exits: nn.Module, j: int):
        super().__init__()
        self.exits, self.j = exits, j

    def forward(self, feats: Sequence[torch.Tensor], saver_logits: torch.Tensor) -> torch.Tensor:
        pos = self.exits.position(self.j)
        new = range(pos + 1) if self.j == 1 else [pos]
        tokens = torch.stack([self.exits.token(p, feats[p]) for p in new], 1)
        earlier = torch.zeros(1, pos + 1 - len(new), self.exits.dim)
        return self.exits.exit_logits(self.j, torch.cat([earlier, tokens], 1), saver_logits)


def exit_modules_macs(exits: nn.Module, num_classes: int = 10) -> Dict[int, int]:
    """mmengine's MACs count of each exit's own modules (:class:`ExitModulesProbe`).

    Returns:
        dict[int, int]: MACs per image of exit ``j``, for every exit.
    """
    from mmengine.analysis import FlopAnalyzer
    feats = [torch.randn(1, c) for c in exits.in_channels]
    return {j: int(FlopAnalyzer(ExitModulesProbe(exits, j), (feats, torch.randn(1, num_classes))
                                ).total()) for j in range(1, exits.num_exits + 1)}
