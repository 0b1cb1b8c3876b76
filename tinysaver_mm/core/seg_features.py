"""What a segmentation saver's class probabilities say about an image, as one row.

The learned segmentation exit head reads these rows (plain torch, no mmseg).
"""
import math
from typing import Sequence

import torch

__all__ = ['seg_feature_dim', 'seg_exit_features']

_BINS_MAXPROB, _BINS_CERTAINTY = 10, 5


def seg_feature_dim(num_classes: int) -> int:
    """Width of :func:`seg_exit_features` rows for ``num_classes`` classes."""
    return _BINS_MAXPROB + _BINS_CERTAINTY + 2 * int(num_classes) + 3


def _histogram(values: torch.Tensor, bins: int) -> torch.Tensor:
    idx = (values.clamp(0.0, 1.0) * bins).long().clamp(max=bins - 1)
    return torch.bincount(idx, minlength=bins).float() / max(values.numel(), 1)


def seg_exit_features(probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """One row per image from its per-pixel class probabilities.

    The row holds: the share of pixels in each of 10 bins of max
    probability; the same for 5 bins of certainty (1 - normalised entropy);
    the share of pixels predicted as each class; the mean max probability of
    each predicted class (0 where absent); the mean max probability, its
    10 % quantile and the mean top-1 minus top-2 margin.

    Args:
        probs (Sequence[torch.Tensor]): Per image ``(C, H, W)`` softmax
            probabilities (sizes may differ between images).

    Returns:
        torch.Tensor: ``(N, seg_feature_dim(C))`` float32.

    Raises:
        ValueError: On images of different class counts, a class count
            below 2, or non-finite probabilities.
    """
    rows = []
    classes = {int(p.shape[0]) for p in probs}
    if len(classes) > 1:
        raise ValueError(f'Images with different class counts {sorted(classes)}.')
    for p in probs:
        c = int(p.shape[0])
        if c < 2:
            raise ValueError(f'{c} class channel(s): the features need per-pixel class '
                             'probabilities over at least 2 classes.')
        flat = p.detach().float().reshape(c, -1).cpu()
        if not torch.isfinite(flat).all():
            raise ValueError('Non-finite class probabilities: the saver overflowed.')
        top2 = flat.topk(2, dim=0).values
        maxp, label = top2[0], flat.argmax(0)
        ent = -(flat.clamp_min(1e-12) * flat.clamp_min(1e-12).log()).sum(0) / math.log(c)
        area = torch.bincount(label, minlength=c).float()
        conf_sum = torch.bincount(label, weights=maxp, minlength=c)
        rows.append(torch.cat([
            _histogram(maxp, _BINS_MAXPROB), _histogram(1.0 - ent, _BINS_CERTAINTY),
            area / label.numel(), conf_sum / area.clamp_min(1.0),
            torch.stack([maxp.mean(), torch.quantile(maxp, 0.1),
                         (top2[0] - top2[1]).mean()])]))
    if not rows:
        return torch.zeros(0, 0)
    return torch.stack(rows).float()
