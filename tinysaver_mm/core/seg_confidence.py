"""Image-level exit scores from a segmentor's per-pixel class scores (plain torch).

A segmentor gives class scores per pixel, not one confidence per image. Each
rule first turns the scores (C, H, W) of one image into a per-pixel
confidence in [0, 1] from their softmax over the C classes, then aggregates
it over the pixels:

- ``mean_max_prob``: the mean over pixels of the top class probability;
- ``quantile_max_prob``: a low quantile ``q`` of the top class probability
  (linear interpolation, as ``numpy.quantile``), so that a small region the
  saver is unsure of keeps the image from exiting;
- ``mean_entropy``: the mean over pixels of ``1 - H(p) / log(C)``, one minus
  the normalised entropy of the class distribution.

Pixels outside ``valid`` (e.g. padding) are left out when a mask is given.
"""
from typing import Callable, Dict, Optional, Sequence

import torch

__all__ = ['SEG_EXIT_RULES', 'pixel_confidence', 'seg_confidence', 'check_quantile']


def _max_prob(probs: torch.Tensor) -> torch.Tensor:
    return probs.max(dim=0).values


def _one_minus_entropy(probs: torch.Tensor) -> torch.Tensor:
    num_classes = probs.shape[0]
    entropy = -(probs * probs.clamp(min=1e-12).log()).sum(dim=0)
    return (1.0 - entropy / float(torch.log(torch.tensor(float(num_classes))))).clamp(0.0, 1.0)


#: rule -> (per-pixel confidence, aggregate: 'mean' or 'quantile')
SEG_EXIT_RULES: Dict[str, tuple] = {
    'mean_max_prob': (_max_prob, 'mean'),
    'quantile_max_prob': (_max_prob, 'quantile'),
    'mean_entropy': (_one_minus_entropy, 'mean'),
}


def check_quantile(q: float) -> float:
    """Validate the quantile of ``quantile_max_prob``.

    Raises:
        ValueError: If ``q`` is not a number in [0, 1].
    """
    try:
        value = float(q)
    except (TypeError, ValueError):
        raise ValueError(f'quantile must be a number in [0, 1], got {q!r}.') from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'quantile={q!r} is outside [0, 1]; use a low quantile of the '
                         'pixel confidences, e.g. 0.1.')
    return value


def _quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """``numpy.quantile(values, q)`` (linear), exact for any size (no sort limit)."""
    n = values.numel()
    pos = q * (n - 1)
    lo, hi = int(pos // 1), min(int(pos // 1) + 1, n - 1)
    v_lo = values.kthvalue(lo + 1).values
    v_hi = values.kthvalue(hi + 1).values if hi != lo else v_lo
    return v_lo + (v_hi - v_lo) * (pos - lo)


def pixel_confidence(logits: torch.Tensor, rule: str = 'mean_max_prob') -> torch.Tensor:
    """Per-pixel confidence of one image.

    Args:
        logits (torch.Tensor): Class scores (C, H, W) before softmax, C > 1.
        rule (str): One of :data:`SEG_EXIT_RULES`.

    Returns:
        torch.Tensor: (H, W) float32 confidences in [0, 1].

    Raises:
        ValueError: On an unknown rule, or scores that are not (C, H, W)
            with C > 1.
    """
    if rule not in SEG_EXIT_RULES:
        raise ValueError(f'Unknown segmentation exit rule {rule!r}; choose one of '
                         f'{sorted(SEG_EXIT_RULES)}.')
    if logits.dim() != 3 or logits.shape[0] < 2:
        raise ValueError(f'Per-pixel class scores must be (C, H, W) with C > 1 classes, got '
                         f'shape {tuple(logits.shape)}; a binary (C == 1) head has no softmax '
                         'over classes to be confident about.')
    probs = logits.detach().float().softmax(dim=0)
    return SEG_EXIT_RULES[rule][0](probs)


def seg_confidence(logits: Sequence[torch.Tensor], rule: str = 'mean_max_prob',
                   quantile: float = 0.1,
                   valid: Optional[Sequence[Optional[torch.Tensor]]] = None) -> torch.Tensor:
    """One exit score per image from its per-pixel class scores.

    Args:
        logits (Sequence[torch.Tensor]): Per image, class scores (C, H, W)
            before softmax (images may differ in size).
        rule (str): One of :data:`SEG_EXIT_RULES`.
        quantile (float): The quantile ``quantile_max_prob`` takes.
        valid (Sequence[torch.Tensor | None], optional): Per image, a bool
            mask (H, W) of the pixels to aggregate over (None: all).

    Returns:
        torch.Tensor: (N,) float32 scores in [0, 1]; NaN for an image
        without a valid pixel (such an image never exits).

    Raises:
        ValueError: On an unknown rule, a quantile outside [0, 1], scores
            that are not (C, H, W) with C > 1, or a mask of another size.
    """
    q = check_quantile(quantile)
    reduce: Callable[[torch.Tensor], torch.Tensor]
    if rule in SEG_EXIT_RULES and SEG_EXIT_RULES[rule][1] == 'quantile':
        def reduce(x):
            return _quantile(x, q)
    else:
        def reduce(x):
            return x.mean()
    out = []
    for i, img in enumerate(logits):
        conf = pixel_confidence(img, rule).reshape(-1)
        if valid is not None and valid[i] is not None:
            mask = valid[i].to(conf.device).bool()
            if tuple(mask.shape) != tuple(img.shape[1:]):
                raise ValueError(f'The valid mask of image {i} is {tuple(mask.shape)} but its '
                                 f'scores are {tuple(img.shape[1:])}.')
            conf = conf[mask.reshape(-1)]
        out.append(reduce(conf).cpu() if conf.numel() else torch.tensor(float('nan')))
    return torch.stack(out).float() if out else torch.zeros(0)
