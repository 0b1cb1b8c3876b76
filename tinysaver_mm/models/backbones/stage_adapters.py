"""Run an mmpretrain backbone stage by stage (the ESN's staged base).

One explicit adapter per backbone family says how to run the stem, stage
``i`` on a tensor, the channel width after stage ``i``, the pooled feature
of stage ``i``'s output (an exit's token) and what the backbone returns from
the last stage's output (for the classifier's neck and head). The state
between stages is one tensor with the images along dim 0, so a cascade can
take the rows still in flight.
"""
from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['StageAdapter', 'ResNetAdapter', 'ConvNeXtAdapter', 'SwinAdapter',
           'stage_adapter', 'SUPPORTED_BACKBONES']


class StageAdapter:
    """How one backbone runs stage by stage (a plain object: it owns no weights).

    Args:
        backbone (nn.Module): The backbone (kept by reference).

    Raises:
        ValueError: If the backbone returns other stages than its last one
            (``out_indices`` must be the last stage only, as classifiers use).
    """

    def __init__(self, backbone: nn.Module):
        self.backbone = backbone
        last = self.num_stages - 1
        out = tuple(int(i) % self.num_stages for i in backbone.out_indices)
        if out != (last, ):
            raise ValueError(
                f'The base {type(backbone).__name__} returns stages out_indices='
                f'{tuple(backbone.out_indices)}; the ESN runs it stage by stage and needs '
                f'out_indices=({last}, ) (the last stage only, as a classifier uses).')

    @property
    def num_stages(self) -> int:
        """Number of stages (the backbone's ``stages`` list by default)."""
        return len(self.backbone.stages)

    def channels(self, i: int) -> int:
        """Channel width of the output of stage ``i``."""
        raise NotImplementedError

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The preprocessed images -> the input of stage 0."""
        raise NotImplementedError

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """The output of stage ``i - 1`` (or of the stem) -> the output of stage ``i``."""
        raise NotImplementedError

    def pooled(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled output of stage ``i`` (N, channels(i))."""
        return x.mean((2, 3))

    def outputs(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """What the backbone returns, from the last stage's output."""
        return (x, )


class ResNetAdapter(StageAdapter):
    """mmpretrain ``ResNet`` (and its subclasses with the same forward) and
    ``ResNet_CIFAR``: stem (deep stem or conv1/norm1/relu, then the max pool
    if there is one), then the res layers."""

    @property
    def num_stages(self) -> int:
        return len(self.backbone.res_layers)

    def channels(self, i: int) -> int:
        return int(getattr(self.backbone, self.backbone.res_layers[i])[-1].out_channels)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        bb = self.backbone
        if getattr(bb, 'deep_stem', False):
            x = bb.stem(x)
        else:
            x = bb.relu(bb.norm1(bb.conv1(x)))
        maxpool = getattr(bb, 'maxpool', None)
        return x if maxpool is None else maxpool(x)  # ResNet_CIFAR has none

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.backbone, self.backbone.res_layers[i])(x)


class ConvNeXtAdapter(StageAdapter):
    """mmpretrain ``ConvNeXt``: downsample layer ``i`` (layer 0 is the stem)
    then stage ``i``; the last stage's norm as the backbone applies it."""

    def channels(self, i: int) -> int:
        return int(self.backbone.channels[i])

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.downsample_layers[0](x)

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        if i > 0:
            x = self.backbone.downsample_layers[i](x)
        return self.backbone.stages[i](x)

    def outputs(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        bb = self.backbone
        norm = getattr(bb, f'norm{self.num_stages - 1}')
        if bb.gap_before_final_norm:
            return (norm(x.mean([-2, -1], keepdim=True)).flatten(1), )
        return (norm(x), )


class SwinAdapter(StageAdapter):
    """mmpretrain ``SwinTransformer``: patch embedding (with the absolute
    position embedding if any), then stage ``i``'s blocks; the patch merging
    between stages as the backbone places it (``out_after_downsample``). The
    state is channel-last (N, H, W, C)."""

    def channels(self, i: int) -> int:
        return int(self.backbone.num_features[i])

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        from mmpretrain.models.utils import resize_pos_embed
        bb = self.backbone
        x, hw = bb.patch_embed(x)
        if bb.use_abs_pos_embed:
            x = x + resize_pos_embed(bb.absolute_pos_embed, bb.patch_resolution, hw,
                                     bb.interpolate_mode, bb.num_extra_tokens)
        x = bb.drop_after_pos(x)
        return x.view(x.shape[0], *hw, x.shape[-1])

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        bb = self.backbone
        hw = tuple(x.shape[1:3])
        seq = x.flatten(1, 2)
        before = bb.stages[i - 1].downsample if i > 0 else None
        if before is not None and not bb.out_after_downsample:
            seq, hw = before(seq, hw)
        seq, hw = bb.stages[i](seq, hw, do_downsample=bb.out_after_downsample)
        return seq.view(seq.shape[0], *hw, seq.shape[-1])

    def pooled(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return x.mean((1, 2))

    def outputs(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        norm = getattr(self.backbone, f'norm{self.num_stages - 1}')
        return (norm(x).permute(0, 3, 1, 2).contiguous(), )


def _families():
    """(backbone class, the forward it must keep, adapter), most specific first."""
    from mmpretrain.models.backbones import ConvNeXt, ResNet, ResNet_CIFAR, SwinTransformer
    return ((ResNet_CIFAR, ResNet_CIFAR.forward, ResNetAdapter),
            (ResNet, ResNet.forward, ResNetAdapter),
            (ConvNeXt, ConvNeXt.forward, ConvNeXtAdapter),
            (SwinTransformer, SwinTransformer.forward, SwinAdapter))


#: backbone types the ESN runs stage by stage
SUPPORTED_BACKBONES = ('ResNet', 'ResNet_CIFAR (and ResNet subclasses with ResNet\'s forward, '
                       'e.g. ResNetV1c/ResNetV1d)', 'ConvNeXt', 'SwinTransformer')


def stage_adapter(backbone: nn.Module, role: str = 'base') -> StageAdapter:
    """The adapter that runs ``backbone`` stage by stage.

    Args:
        backbone (nn.Module): An mmpretrain backbone.
        role (str): What to call its model in errors.

    Returns:
        StageAdapter: Its family's adapter.

    Raises:
        ValueError: If no adapter knows the backbone's type (or a subclass
            changed its family's forward), naming the supported types.
    """
    for cls, forward, adapter in _families():
        if isinstance(backbone, cls):
            if type(backbone).forward is not forward:
                break  # a subclass that runs differently: refuse, do not guess
            return adapter(backbone)
    raise ValueError(
        f'The {role} backbone {type(backbone).__name__} has no stage adapter, so the ESN '
        f'cannot run it stage by stage. Supported types: {", ".join(SUPPORTED_BACKBONES)}; '
        f'use a {role} with one of these backbones, or add an adapter in '
        'tinysaver_mm/models/backbones/stage_adapters.py.')
