"""Cascades of more than two models: evaluation and joint threshold search."""
import itertools
from typing import List, Sequence

import numpy as np

from .base import _TOL, BaseCalibrator, _int_at_least, _open_unit

__all__ = ['MultiStageDropCalibrator', 'answering_stage', 'answer_correct', 'evaluate_cascade',
           'joint_threshold_search']


def answering_stage(confidences: Sequence[np.ndarray], thresholds: Sequence[float],
                    n: int) -> np.ndarray:
    """Index of the stage answering each of ``n`` samples: the first ``i``
    whose confidence is ``>= thresholds[i]``, else the last stage
    (``len(thresholds)``)."""
    answered = np.full(n, len(thresholds))
    open_ = np.ones(n, dtype=bool)
    for i, t in enumerate(thresholds):
        take = open_ & (np.asarray(confidences[i]) >= t)
        answered[take] = i
        open_ &= ~take
    return answered


def answer_correct(answered: np.ndarray, corrects: Sequence[np.ndarray]) -> np.ndarray:
    """Per sample, whether the stage that answered it (``answered``, from
    :func:`answering_stage`) is right; ``corrects`` holds each stage's flags."""
    stacked = np.stack([np.asarray(c, dtype=bool) for c in corrects])
    return stacked[np.asarray(answered), np.arange(stacked.shape[1])]


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
    answered = answering_stage(confidences, thresholds, n)
    correct = answer_correct(answered, corrects)
    cum = np.cumsum(np.asarray(macs, dtype=np.float64))
    return dict(accuracy=float(correct.mean()), macs=float(cum[answered].mean()),
                shares=[float(np.mean(answered == i)) for i in range(k)])


class MultiStageDropCalibrator(BaseCalibrator):
    """Cheapest thresholds of a k-stage cascade keeping the drop within max_drop.

    Each stage's candidate thresholds (all stages but the last) are ``grid``
    quantiles of its confidence plus 1.0; every combination is evaluated on
    the records (:func:`evaluate_cascade`) and the one with the fewest mean
    MACs whose top-1 is at least the last stage's minus ``max_drop`` wins
    (the first one in grid order among equally cheap ones).

    Args:
        max_drop (float): Allowed top-1 drop vs the last stage, in (0, 1).
        grid (int): Candidate thresholds per stage, >= 1.

    Attributes:
        thresholds_ (list[float]): One threshold per stage but the last.
        accuracy_ (float): Cascade top-1 at ``thresholds_`` on the records.
        macs_ (float): Mean MACs per image there.
        shares_ (list[float]): Share of samples each stage answers there.
        reference_accuracy_ (float): The last stage's top-1 on the records.

    Raises:
        ValueError: If ``max_drop`` is outside (0, 1) or ``grid`` is not a
            positive integer.
    """

    def __init__(self, max_drop: float, grid: int = 41):
        self.max_drop = _open_unit(max_drop, 'max_drop')
        self.grid = _int_at_least(grid, 'grid', 1, ' (candidate thresholds per stage)')

    def fit(self, confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
            macs: Sequence[float]) -> 'MultiStageDropCalibrator':
        """Search the thresholds jointly on records of every stage.

        Args:
            confidences, corrects, macs: As in :func:`evaluate_cascade`.

        Returns:
            The calibrator itself.

        Raises:
            ValueError: On inconsistent lengths, or if no combination keeps
                the drop within ``max_drop`` (an earlier stage's confidence
                reaches even the strictest candidate on samples it gets
                wrong, e.g. a softmax saturated at 1.0).
        """
        ref = float(np.mean(corrects[-1]))
        cands: List[np.ndarray] = [
            np.unique(np.append(np.quantile(np.asarray(c, dtype=np.float64),
                                            np.linspace(0, 1, self.grid)), 1.0))
            for c in confidences[:-1]]
        best = None
        for ts in itertools.product(*cands):
            r = evaluate_cascade(confidences, corrects, macs, ts)
            if r['accuracy'] >= ref - self.max_drop - _TOL and (
                    best is None or r['macs'] < best['macs']):
                best = dict(r, thresholds=[float(t) for t in ts])
        if best is None:
            strict = [float(c[-1]) for c in cands]
            r = evaluate_cascade(confidences, corrects, macs, strict)
            raise ValueError(
                f'No thresholds keep the top-1 drop within max_drop={self.max_drop}: '
                f'even the strictest candidates {strict} give {r["accuracy"]:.4f} vs '
                f'the last stage\'s {ref:.4f}, because earlier stages still answer '
                f'the samples whose confidence reaches them (shares {r["shares"]}) and '
                'get some of them wrong (e.g. a softmax saturated at 1.0). Allow a '
                'larger max_drop, give those stages an exit rule whose confidence '
                'does not saturate, or leave them out of the cascade.')
        self.reference_accuracy_ = ref
        self.thresholds_ = best['thresholds']
        self.accuracy_ = best['accuracy']
        self.macs_ = best['macs']
        self.shares_ = best['shares']
        return self


def joint_threshold_search(confidences: Sequence[np.ndarray], corrects: Sequence[np.ndarray],
                           macs: Sequence[float], max_drop: float, grid: int = 41) -> dict:
    """:class:`MultiStageDropCalibrator` as a function.

    Args:
        confidences, corrects, macs: As in :func:`evaluate_cascade`.
        max_drop (float): Allowed top-1 drop vs the last stage, in (0, 1).
        grid (int): Candidate thresholds per stage.

    Returns:
        dict: ``thresholds`` and the :func:`evaluate_cascade` figures there
        (``accuracy``, ``macs``, ``shares``).

    Raises:
        ValueError: As :class:`MultiStageDropCalibrator` and its ``fit``.
    """
    cal = MultiStageDropCalibrator(max_drop, grid).fit(confidences, corrects, macs)
    return dict(accuracy=cal.accuracy_, macs=cal.macs_, shares=cal.shares_,
                thresholds=cal.thresholds_)
