"""One classification stage as a plain graph: raw images -> class probabilities."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['StageGraph']


class StageGraph(nn.Module):
    """A classifier with its own data preprocessor folded in, for export.

    ``forward`` takes raw images ``(N, C, H, W)`` (any dtype; cast to float32)
    and returns softmax probabilities ``(N, num_classes)``, exactly what
    ``TinySaverClassifier.stage_probs`` gives on the same stacked batch: the
    preprocessor's RGB flip (3-channel inputs only, as mmpretrain does) and
    normalisation are applied with its own ``mean``/``std`` buffers.

    Args:
        model (nn.Module): An mmpretrain classifier (``mode='tensor'`` gives
            logits) with a ``ClsDataPreprocessor``-like ``data_preprocessor``.
        name (str): What to call it in errors.

    Raises:
        ValueError: If the preprocessor pads (``pad_size_divisor > 1``) or has
            batch augments at test time: neither is folded in.
    """

    def __init__(self, model: nn.Module, name: str = 'stage'):
        super().__init__()
        pre = model.data_preprocessor
        if int(getattr(pre, 'pad_size_divisor', 1) or 1) > 1:
            raise ValueError(f'The {name}\'s data_preprocessor pads to pad_size_divisor='
                             f'{pre.pad_size_divisor}; export folds only flip and '
                             'normalisation: set pad_size_divisor=1 for deployment.')
        self.model, self.name = model, name
        self.to_rgb = bool(getattr(pre, 'to_rgb', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        mean: Optional[torch.Tensor] = getattr(pre, 'mean', None) if self.normalize else None
        std: Optional[torch.Tensor] = getattr(pre, 'std', None) if self.normalize else None
        self.register_buffer('mean', None if mean is None else mean.detach().clone().float())
        self.register_buffer('std', None if std is None else std.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities ``(N, num_classes)`` of raw images ``(N, C, H, W)``."""
        if self.to_rgb and x.shape[1] == 3:
            x = x.flip(1)
        x = x.float()
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return F.softmax(self.model(x, mode='tensor').float(), dim=1)
