"""Cascades of more than two models: evaluation and joint threshold search."""
import itertools
from typing import List, Sequence

import numpy as np

__all__ = ['evaluate_cascade', 'joint_threshold_search']


def evaluate_cascade(confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
                     macs: Sequence[float], thresholds: Sequence[float]) -> dict:
    """Accuracy, mean MACs and answer shares of a k-stage cascade on records.

    Stage i (all but the last) answers the samples not taken earlier whose
    confidence is ``>= thresholds[i]``; the last stage answers the rest.

    Args:
        confidences (Sequence[np.ndarray]): Per stage, confidence (N,); the
            last stage's is not used.
        corrects (Sequence[np.ndarray]): Per stage, right or wrong (N,).
        macs (Sequence[float]): Per stage, MACs per image.
        thresholds (Sequence[float]): One per stage but the last.

    Returns:
        dict: ``accuracy``, ``macs`` (mean per image) and ``shares`` (list).

    Raises:
        ValueError: On inconsistent lengths.
    """
    k = len(corrects)
    if not (len(confidences) == len(macs) == k and len(thresholds) == k - 1):
        raise ValueError(f'{k} stages need {k} confidences and MACs and {k - 1} '
                         f'thresholds; got {len(confidences)}, {len(macs)}, {len(thresholds)}.')
    n = len(corrects[0])
    answered = np.full(n, k - 1)
    open_ = np.ones(n, dtype=bool)
    for i, t in enumerate(thresholds):
        take = open_ & (np.asarray(confidences[i]) >= t)
        answered[take] = i
        open_ &= ~take
    correct = np.stack([np.asarray(c, dtype=bool) for c in corrects])[answered, np.arange(n)]
    cum = np.cumsum(np.asarray(macs, dtype=np.float64))
    return dict(accuracy=float(correct.mean()), macs=float(cum[answered].mean()),
                shares=[float(np.mean(answered == i)) for i in range(k)])


def joint_threshold_search(confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
                           macs: Sequence[float], max_drop: float, grid: int = 41) -> dict:
    """Cheapest thresholds of a k-stage cascade keeping the drop within max_drop.

    Each stage's candidate thresholds are ``grid`` quantiles of its
    confidence (plus 1.0, which admits almost nothing); every combination is
    evaluated on the records and the one with the fewest mean MACs whose
    top-1 is at least the last stage's minus ``max_drop`` wins.

    Args:
        confidences, corrects, macs: As in :func:`evaluate_cascade`.
        max_drop (float): Allowed top-1 drop vs the last stage, in (0, 1).
        grid (int): Candidate thresholds per stage.

    Returns:
        dict: ``thresholds`` and the :func:`evaluate_cascade` figures there.

    Raises:
        ValueError: If ``max_drop`` is outside (0, 1).
    """
    if not 0.0 < float(max_drop) < 1.0:
        raise ValueError(f'max_drop={max_drop!r} must be in (0, 1).')
    ref = float(np.mean(corrects[-1]))
    cands: List[np.ndarray] = [
        np.unique(np.append(np.quantile(np.asarray(c, dtype=np.float64),
                                        np.linspace(0, 1, grid)), 1.0))
        for c in confidences[:-1]]
    best = None
    for ts in itertools.product(*cands):
        r = evaluate_cascade(confidences, corrects, macs, ts)
        if r['accuracy'] >= ref - max_drop - 1e-12 and (best is None or r['macs'] < best['macs']):
            best = dict(r, thresholds=[float(t) for t in ts])
    return best  # never None: thresholds of 1.0 keep the last stage's accuracy
