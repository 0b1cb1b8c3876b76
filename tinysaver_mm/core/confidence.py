"""Exit-confidence scores computed from a saver's class probabilities."""
import math
from typing import Callable, Dict

import torch

__all__ = ['CONFIDENCE_RULES', 'confidence_scores']


def _max_prob(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 softmax probability (the paper's exit rule)."""
    return probs.max(dim=1).values


def _margin(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 minus top-2 probability, in [0, 1]."""
    if probs.size(1) < 2:
        return torch.ones(probs.size(0), dtype=probs.dtype, device=probs.device)
    top2 = probs.topk(2, dim=1).values
    return top2[:, 0] - top2[:, 1]


def _entropy(probs: torch.Tensor) -> torch.Tensor:
    """One minus the entropy normalised by log(num_classes), in [0, 1]."""
    num_classes = probs.size(1)
    if num_classes < 2:
        return torch.ones(probs.size(0), dtype=probs.dtype, device=probs.device)
    plogp = torch.where(probs > 0, probs * probs.clamp_min(1e-30).log(),
                        torch.zeros_like(probs))
    return 1.0 + plogp.sum(dim=1) / math.log(num_classes)


CONFIDENCE_RULES: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    'max_prob': _max_prob,
    'margin': _margin,
    'entropy': _entropy,
}


def confidence_scores(probs: torch.Tensor, rule: str = 'max_prob') -> torch.Tensor:
    """Score how sure a model is of each sample, in [0, 1].

    Args:
        probs (torch.Tensor): Class probabilities of shape (N, num_classes),
            rows summing to one.
        rule (str): ``'max_prob'`` (top-1 probability, the paper's rule),
            ``'margin'`` (top-1 minus top-2) or ``'entropy'`` (one minus the
            normalised entropy).

    Returns:
        torch.Tensor: Confidence of shape (N,); higher means surer.

    Raises:
        ValueError: If ``rule`` is unknown or ``probs`` is not 2-D.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'Unknown exit rule {rule!r}; choose one of '
                         f'{sorted(CONFIDENCE_RULES)}.')
    if probs.dim() != 2:
        raise ValueError('probs must have shape (N, num_classes), got '
                         f'{tuple(probs.shape)}.')
    return CONFIDENCE_RULES[rule](probs)
