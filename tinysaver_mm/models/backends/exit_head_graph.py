"""A learned exit head as a plain graph: saver probabilities -> exit score."""
import torch
import torch.nn as nn

__all__ = ['ExitHeadGraph']


class ExitHeadGraph(nn.Module):
    """``head.score(head.inputs(probs))`` as one module, for export.

    Args:
        head (nn.Module): A classification exit head (e.g.
            ``TinySaverClsEvaluatorHead``) with ``inputs`` and ``score``.
    """

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        """Exit score ``(N,)`` in [0, 1] of the saver's ``(N, C)`` probabilities."""
        return self.head.score(self.head.inputs(probs))
