"""Exit threshold with a high-probability bound on the accuracy drop.

Learn-then-Test with fixed-sequence testing. For a threshold ``t`` the loss of
a sample is ``L_i(t) = 1{conf_i >= t} * (base_correct_i - saver_correct_i)``
and the drop vs the base is ``D(t) = E[L(t)] = p_loss(t) - p_gain(t)``, with
``p_loss = P(exit, saver wrong, base right)`` and ``p_gain = P(exit, saver
right, base wrong)``. The upper confidence bound

    UCB(t) = CP_upper(k_loss, n, delta / 2) - CP_lower(k_gain, n, delta / 2)

uses one-sided exact Clopper-Pearson bounds (``scipy.stats.beta.ppf``); by a
union bound ``P(D(t) <= UCB(t)) >= 1 - delta`` for each fixed ``t``. So
rejecting ``H_t: D(t) > max_drop`` when ``UCB(t) <= max_drop`` is a level-delta
test, and testing thresholds in a fixed order (strictest first) and stopping
at the first non-rejection keeps the chance of rejecting any true ``H_t`` at
most ``delta``: with probability >= 1 - delta every rejected threshold, the
chosen one included, has ``D(t) <= max_drop``.
"""
import numpy as np
from scipy.stats import beta

from .base import _TOL, _binary, _CurveCalibrator, _open_unit, cascade_curve

__all__ = ['InfeasibleTargetError', 'GuaranteedDropCalibrator',
           'records_needed', 'violation_rate']


class InfeasibleTargetError(ValueError):
    """No threshold can be certified with the records at hand."""


def records_needed(max_drop: float, delta: float) -> int:
    """Fewest records that can certify any threshold, in the best case.

    With no disagreement between saver and base among the exited records
    (``k_loss = k_gain = 0``) the bound is ``1 - (delta / 2) ** (1 / n)``
    (:func:`_drop_ucb`), which is ``<= max_drop`` exactly when
    ``n >= ln(delta / 2) / ln(1 - max_drop)`` (about ``ln(2 / delta) /
    max_drop``). Any disagreement needs more.

    Args:
        max_drop (float): Largest allowed top-1 drop, in (0, 1).
        delta (float): Allowed failure probability, in (0, 1).

    Returns:
        int: The smallest such ``n``.

    Raises:
        ValueError: If max_drop or delta is outside (0, 1).
    """
    eps, dlt = _open_unit(max_drop, 'max_drop'), _open_unit(delta, 'delta')
    n = int(np.ceil(np.log(dlt / 2.0) / np.log1p(-eps)))
    # the ceiling of a float ratio: step to the exact boundary of the bound
    while n > 1 and _drop_ucb(np.zeros(1), np.zeros(1), n - 1, dlt)[0] <= eps:
        n -= 1
    while _drop_ucb(np.zeros(1), np.zeros(1), n, dlt)[0] > eps:
        n += 1
    return n


def _drop_ucb(k_loss: np.ndarray, k_gain: np.ndarray, n: int,
              delta: float) -> np.ndarray:
    """Clopper-Pearson upper bound on ``p_loss - p_gain`` at level delta."""
    alpha = delta / 2.0
    upper = beta.ppf(1.0 - alpha, k_loss + 1, np.maximum(n - k_loss, 1))
    lower = beta.ppf(alpha, np.maximum(k_gain, 1), n - k_gain + 1)
    return np.where(k_loss >= n, 1.0, upper) - np.where(k_gain <= 0, 0.0, lower)


class GuaranteedDropCalibrator(_CurveCalibrator):
    """Lowest threshold whose drop vs the base is certified <= max_drop.

    With probability >= 1 - delta over the calibration records, the top-1
    drop of the cascade vs the base on new data from the same distribution
    (in expectation) is at most ``max_drop``. See the module docstring.

    Args:
        max_drop (float): Largest allowed top-1 drop, in (0, 1).
        delta (float): Allowed failure probability of the guarantee, in (0, 1).

    Attributes:
        threshold_ (float): The last (lowest) threshold the sequence rejected.
        exit_ratio_ (float): Exit share at ``threshold_`` on the records.
        accuracy_ (float): Cascade top-1 at ``threshold_`` on the records.
        base_accuracy_ (float): Base top-1 on the records.
        saver_accuracy_ (float): Saver top-1 on the records.
        drop_ucb_ (float): Upper confidence bound on the drop at ``threshold_``.

    Raises:
        ValueError: If max_drop or delta is outside (0, 1) (at construction);
            in ``fit`` on empty records, mismatched lengths or correctness
            flags other than 0/1.
        InfeasibleTargetError: (a ValueError) in ``fit``, if even the
            strictest threshold cannot be certified with this many records.
    """

    def __init__(self, max_drop: float = 0.01, delta: float = 0.1):
        self.max_drop = _open_unit(max_drop, 'max_drop')
        self.delta = _open_unit(delta, 'delta')

    def _choose(self, curve, confidence, saver_correct, base_correct):
        """Fixed-sequence test from 1.0 down; index of the last rejection."""
        s = _binary(saver_correct, 'saver_correct')
        b = _binary(base_correct, 'base_correct')
        n = s.size
        # with a never-right base, cascade accuracy * n counts the exited
        # samples whose flag is set: the loss and gain counts per threshold
        zero = np.zeros_like(s)
        k_loss = np.rint(cascade_curve(confidence, (1 - s) * b, zero)['accuracy'] * n)
        k_gain = np.rint(cascade_curve(confidence, s * (1 - b), zero)['accuracy'] * n)
        ucb = _drop_ucb(k_loss, k_gain, n, self.delta)
        rejected = ucb <= self.max_drop
        if not rejected[0]:
            raise InfeasibleTargetError(
                f'The target is infeasible with this many records: with '
                f'max_drop={self.max_drop}, delta={self.delta} and n={n}, even '
                f'the strictest threshold {curve["threshold"][0]} has a drop '
                f'bound of {ucb[0]:.4g} > max_drop. Certifying any threshold '
                f'needs at least {records_needed(self.max_drop, self.delta)} '
                'records even with no saver/base disagreement among the exits '
                '(about ln(2/delta)/max_drop): collect more records or allow a '
                'larger max_drop or delta.')
        last = rejected.size - 1 if rejected.all() else int(np.argmin(rejected)) - 1
        self.drop_ucb_ = float(ucb[last])
        return last


def violation_rate(confidence: np.ndarray, saver_correct: np.ndarray,
                   base_correct: np.ndarray, max_drop: float, delta: float,
                   n_splits: int = 200, seed: int = 0) -> dict:
    """How often the calibrated drop exceeds max_drop on held-out records.

    Each split shuffles the records, fits :class:`GuaranteedDropCalibrator` on
    the first half (``n // 2``) and measures the realized drop (base top-1
    minus cascade top-1) on the rest. The realized drop also carries the noise
    of the finite held-out half, so the rate is a proxy for the guarantee,
    which is on the expected drop. A split whose fit is infeasible lets no
    sample exit (infinite threshold): drop 0, not a violation.

    Args:
        confidence (np.ndarray): Saver confidence per sample.
        saver_correct (np.ndarray): Saver right (1) or wrong (0) per sample.
        base_correct (np.ndarray): Base right (1) or wrong (0) per sample.
        max_drop (float): As in :class:`GuaranteedDropCalibrator`.
        delta (float): As in :class:`GuaranteedDropCalibrator`.
        n_splits (int): Number of random halvings, >= 1.
        seed (int): Seed of the random halvings.

    Returns:
        dict: ``violation_rate``, ``mean_drop`` and ``mean_exit_ratio`` (on
        the held-out halves) and ``infeasible_splits`` (a count).

    Raises:
        ValueError: On bad max_drop, delta or n_splits, fewer than 2 records,
            mismatched lengths or non-0/1 correctness flags.
    """
    cal = GuaranteedDropCalibrator(max_drop, delta)
    conf = np.asarray(confidence, dtype=np.float64)
    s = _binary(saver_correct, 'saver_correct')
    b = _binary(base_correct, 'base_correct')
    cascade_curve(conf, s, b)  # refuses empty records and mismatched lengths
    if conf.size < 2:
        raise ValueError(f'Need at least 2 records to halve, got {conf.size}.')
    if int(n_splits) != n_splits or n_splits < 1:
        raise ValueError(f'n_splits={n_splits!r} must be a positive integer.')
    rng = np.random.default_rng(seed)
    half = conf.size // 2
    drops, exits, infeasible = [], [], 0
    for _ in range(int(n_splits)):
        perm = rng.permutation(conf.size)
        fit_idx, test_idx = perm[:half], perm[half:]
        try:
            threshold = cal.fit(conf[fit_idx], s[fit_idx], b[fit_idx]).threshold_
        except InfeasibleTargetError:
            threshold, infeasible = np.inf, infeasible + 1
        out = conf[test_idx] >= threshold
        cascade = np.where(out, s[test_idx], b[test_idx])
        drops.append(b[test_idx].mean() - cascade.mean())
        exits.append(out.mean())
    drops = np.asarray(drops)
    return dict(violation_rate=float(np.mean(drops > cal.max_drop + _TOL)),
                mean_drop=float(drops.mean()),
                mean_exit_ratio=float(np.mean(exits)),
                infeasible_splits=infeasible)
