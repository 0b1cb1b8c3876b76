"""MACs of one model at a real input, via mmengine's complexity analysis."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

__all__ = ['measure_macs']


class _WithSamples(nn.Module):
    """Calls ``model._forward(x, data_samples)`` (mmdet's tensor mode)."""

    def __init__(self, model: nn.Module, data_samples: Sequence):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, x: torch.Tensor):
        return self.model._forward(x, self.data_samples)


@torch.no_grad()
def measure_macs(model: nn.Module, inputs: torch.Tensor,
                 data_samples: Optional[Sequence] = None) -> int:
    """Count the multiply-accumulates of ``model(inputs)``.

    mmengine's ``FlopAnalyzer`` counts one multiply-add as one "flop", so its
    total is MACs. Ops it does not know (e.g. some mmcv custom ops) are not
    counted: the figure is then a lower bound.

    Args:
        model (nn.Module): Called as ``model(inputs)`` (``mode='tensor'``).
        inputs (torch.Tensor): A preprocessed batch; use one image to get
            MACs per image.
        data_samples (Sequence, optional): For mmdet detectors, whose tensor
            mode (``_forward``) may need the samples' metainfo (two-stage
            detectors build proposals from ``img_shape``).

    Returns:
        int: MACs for the whole batch.
    """
    from mmengine.analysis import FlopAnalyzer
    was_training = model.training
    model.eval()
    try:
        traced = model if data_samples is None else _WithSamples(model, data_samples)
        analyzer = FlopAnalyzer(traced, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        return int(analyzer.total())
    finally:
        model.train(was_training)
