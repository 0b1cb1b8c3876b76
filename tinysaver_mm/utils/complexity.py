"""MACs of one model at a real input, via mmengine's complexity analysis."""
import torch
import torch.nn as nn

__all__ = ['measure_macs']


@torch.no_grad()
def measure_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """Count the multiply-accumulates of ``model(inputs)``.

    mmengine's ``FlopAnalyzer`` counts one multiply-add as one "flop", so its
    total is MACs. Ops it does not know (e.g. some mmcv custom ops) are not
    counted: the figure is then a lower bound.

    Args:
        model (nn.Module): Called as ``model(inputs)`` (``mode='tensor'``).
        inputs (torch.Tensor): A preprocessed batch; use one image to get
            MACs per image.

    Returns:
        int: MACs for the whole batch.
    """
    from mmengine.analysis import FlopAnalyzer
    was_training = model.training
    model.eval()
    try:
        analyzer = FlopAnalyzer(model, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        return int(analyzer.total())
    finally:
        model.train(was_training)
