"""Rank candidate savers by the paper's computation-reduction metric."""
import numpy as np

from .calibration.base import _positive, cascade_curve

__all__ = ['delta_ctr']


def delta_ctr(confidence: np.ndarray, saver_correct: np.ndarray,
              base_correct: np.ndarray, macs_saver: float,
              macs_base: float) -> dict:
    """The computation-reduction metric ``delta C_tr = c - r_e`` of a saver.

    ``c = macs_saver / macs_base`` is the saver's relative cost. ``r_e`` is
    the share of samples the saver can take over without hurting accuracy.
    Reading of the paper made explicit here: scan thresholds ``t`` from 1.0
    down over the distinct confidences; ``A(t)`` are the samples with
    ``conf >= t`` (ties included). ``r_e`` is the exit share ``|A(t)| / n``
    at the last threshold BEFORE the first one (from the top) where the
    saver's top-1 on ``A(t)`` falls strictly below the base's top-1 on
    ``A(t)``, i.e. the largest share reached while the saver was still at
    least as accurate as the base on everything it took. Later thresholds are
    not looked at, even if the saver catches up again. If the saver never
    falls below, ``r_e = 1``. An empty ``A(1.0)`` (no confidence reaches 1)
    counts as "not below", so ``r_e = 0`` with threshold 1.0 when the most
    confident sample already fails; if that sample has confidence 1.0, the
    threshold is ``inf`` (nothing exits). Smaller is better: a negative value
    means the cascade saves computation.

    Args:
        confidence (np.ndarray): Saver confidence per sample, shape (N,).
        saver_correct (np.ndarray): Whether the saver is right, shape (N,).
        base_correct (np.ndarray): Whether the base is right, shape (N,).
        macs_saver (float): MACs per image of the saver, > 0.
        macs_base (float): MACs per image of the base, > 0 (same unit).

    Returns:
        dict: ``delta_ctr`` (``c - r_e``), ``c``, ``exit_ratio`` (``r_e``)
        and ``threshold`` (the threshold that gives ``r_e``).

    Raises:
        ValueError: If the records are empty, their lengths differ or a MACs
            value is not a positive number.
    """
    c = _positive(macs_saver, 'macs_saver') / _positive(macs_base, 'macs_base')
    curve = cascade_curve(confidence, saver_correct, base_correct)
    b = np.asarray(base_correct, dtype=np.float64)
    # cascade top-1 - base top-1 = (saver right on A - base right on A) / n,
    # so the saver is worse on A exactly when this count is negative
    worse = np.rint((curve['accuracy'] - b.mean()) * b.size) < 0
    if not worse.any():
        threshold, r_e = float(curve['threshold'][-1]), 1.0
    elif np.argmax(worse) == 0:
        threshold, r_e = float('inf'), 0.0
    else:
        last = int(np.argmax(worse)) - 1
        threshold = float(curve['threshold'][last])
        r_e = float(curve['exit_ratio'][last])
    return dict(delta_ctr=c - r_e, c=c, exit_ratio=r_e, threshold=threshold)
