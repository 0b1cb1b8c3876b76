"""TinyConvNet: a few wide conv layers, a saver that is cheap in time too."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

__all__ = ['TinyConvNet']


@MODELS.register_module()
class TinyConvNet(BaseModule):
    """Plain stack of 3x3 conv + BN + ReLU layers, for small images.

    On a CPU, a thin deep net (e.g. a 4-channel ResNet-18) spends most of its
    time in per-layer overhead, so its wall time is far above what its MACs
    say. A few layers with 16 to 64 channels reach about the MACs per second
    of a large base, so the MACs a cascade saves show up as time saved.

    Args:
        in_channels (int): Channels of the input images. Defaults to 1.
        channels (Sequence[int]): Output channels of each conv layer.
            Defaults to (16, 32, 64).
        strides (Sequence[int]): Stride of each conv layer, one per entry of
            ``channels``. Defaults to (2, 2, 2).
        out_indices (Sequence[int]): Layers whose outputs are returned.
            Defaults to the last one.
        init_cfg (dict, optional): mmengine initialisation config.

    Raises:
        ValueError: If ``channels`` is empty, ``strides`` does not match it,
            or an out index is not a layer.
    """

    def __init__(self,
                 in_channels: int = 1,
                 channels: Sequence[int] = (16, 32, 64),
                 strides: Sequence[int] = (2, 2, 2),
                 out_indices: Sequence[int] = (-1, ),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not channels or len(channels) != len(strides):
            raise ValueError(f'channels={tuple(channels)} and strides={tuple(strides)} '
                             'must be non-empty and of the same length (one stride '
                             'per conv layer).')
        n = len(channels)
        self.out_indices = tuple(i % n if -n <= i < n else i for i in out_indices)
        bad = [i for i in self.out_indices if not 0 <= i < n]
        if bad:
            raise ValueError(f'out_indices {tuple(out_indices)} name no layer of '
                             f'this {n}-layer net; use indices in [-{n}, {n - 1}].')
        layers, cin = [], in_channels
        for cout, stride in zip(channels, strides):
            layers.append(nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU(inplace=True)))
            cin = cout
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Feature maps of the layers in ``out_indices``.

        Args:
            x (torch.Tensor): Images (N, in_channels, H, W).

        Returns:
            tuple[torch.Tensor]: One map per out index.
        """
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
