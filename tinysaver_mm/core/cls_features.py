"""What a classification saver's probabilities say about an image, as one row.

The learned classification exit head reads these rows (plain torch).
"""
import torch

from .confidence import confidence_scores

__all__ = ['cls_feature_dim', 'cls_exit_features']


def cls_feature_dim(topk: int) -> int:
    """Width of :func:`cls_exit_features` rows."""
    return int(topk) + 2


def cls_exit_features(probs: torch.Tensor, topk: int = 5) -> torch.Tensor:
    """The saver's ``topk`` sorted probabilities, its margin and its certainty.

    Args:
        probs (torch.Tensor): ``(N, C)`` softmax probabilities.
        topk (int): Sorted probabilities kept (zero-padded past ``C``).

    Returns:
        torch.Tensor: ``(N, topk + 2)`` float32: top-k probabilities, top-1 -
        top-2, and 1 - normalised entropy.

    Raises:
        ValueError: If ``probs`` is not 2-D, ``topk`` < 1, or a value is not
            finite.
    """
    if probs.dim() != 2:
        raise ValueError(f'probs must have shape (N, num_classes), got {tuple(probs.shape)}.')
    if int(topk) < 1:
        raise ValueError(f'topk={topk!r} must be >= 1.')
    p = probs.detach().float()
    if not torch.isfinite(p).all():
        raise ValueError('Non-finite class probabilities: the saver overflowed.')
    k = min(int(topk), p.size(1))
    top = torch.zeros(p.size(0), int(topk), device=p.device)
    top[:, :k] = p.topk(k, dim=1).values
    return torch.cat([top, confidence_scores(p, 'margin')[:, None],
                      confidence_scores(p, 'entropy')[:, None]], dim=1)
