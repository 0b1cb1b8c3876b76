"""Drift of a cascade's live data from its calibration records (plain numpy).

What the calibration saw is summarised by :func:`drift_reference`: the exit
ratio, the record count and a quantile sketch of the saver's confidence
(grid points and the calibration records' exact empirical CDF there).

:class:`DriftMonitor` watches a stream with two tests at checkpoints
``n_k = first * 2**k`` (k = 0, 1, ...), on all images seen so far:

- exit ratio: Fisher's exact two-sided test of the live exits against the
  calibration exits (two samples, so the calibration count's own noise is
  accounted for);
- confidence: the two-sample Kolmogorov-Smirnov statistic evaluated at the
  sketch's grid points (a sup over a subset of points, so it never exceeds
  the full two-sample statistic and its asymptotic p-value is conservative).

Why the level holds over an unbounded stream: the level ``alpha`` is spent
Bonferroni-style, ``alpha / 2`` per test family and ``alpha_k = (alpha / 2) *
6 / (pi**2 (k + 1)**2)`` at checkpoint k; these sum to at most ``alpha``, so
by the union bound the probability of any false alarm over the whole stream
is at most ``alpha`` whatever the dependence between checkpoints, provided
the live images are drawn from the calibration distribution.
"""
import math
from typing import Dict, Optional

import numpy as np

__all__ = ['check_level', 'drift_reference', 'fisher_exact_pvalue', 'kolmogorov_sf',
           'ks_sketch_statistic', 'checkpoint_level', 'DriftMonitor']


def check_level(level) -> float:
    """Validate a drift false-alarm level.

    Raises:
        ValueError: If ``level`` is not a number strictly inside (0, 1).
    """
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f'level must be a number in (0, 1), got {level!r}.') from None
    if not 0.0 < value < 1.0:
        raise ValueError(f'level={level!r} is outside (0, 1): it is the false-alarm '
                         'probability over the whole stream, e.g. 0.01 or 0.05.')
    return value


def drift_reference(confidence: np.ndarray, threshold: float, num_quantiles: int = 101) -> dict:
    """What a calibration saw: exit ratio, count and a confidence sketch.

    Args:
        confidence (np.ndarray): The saver's confidence on each calibration record.
        threshold (float): The calibrated exit threshold.
        num_quantiles (int): Grid points of the sketch (quantile levels 0..1).

    Returns:
        dict: ``count``, ``exits``, ``exit_ratio``, ``threshold``,
        ``grid`` (distinct confidence quantiles) and ``cdf`` (fraction of
        records ``<=`` each grid point), JSON-ready.

    Raises:
        ValueError: If there are no finite confidences.
    """
    c = np.asarray(confidence, dtype=np.float64).ravel()
    if c.size == 0 or not np.isfinite(c).any():
        raise ValueError('drift_reference needs the calibration records\' confidences; '
                         'got none that are finite.')
    exits = int(np.sum(c >= threshold))  # NaN never exits, as in routing
    grid = np.unique(np.quantile(c[np.isfinite(c)], np.linspace(0, 1, num_quantiles)))
    cdf = np.searchsorted(np.sort(c[np.isfinite(c)]), grid, side='right') / c.size
    return dict(count=int(c.size), exits=exits, exit_ratio=exits / c.size,
                threshold=float(threshold), grid=[float(g) for g in grid],
                cdf=[float(v) for v in cdf])


def _log_hypergeom(k: np.ndarray, total: int, good: int, draws: int) -> np.ndarray:
    lc = lambda n, r: (np.vectorize(math.lgamma)(n + 1.0) - np.vectorize(math.lgamma)(r + 1.0)
                       - np.vectorize(math.lgamma)(n - r + 1.0))
    return lc(good, k) + lc(total - good, draws - k) - lc(total, draws)


def fisher_exact_pvalue(a: int, n: int, b: int, m: int) -> float:
    """Two-sided Fisher exact p-value of ``a`` successes in ``n`` vs ``b`` in ``m``.

    The p-value sums the hypergeometric probabilities (margins fixed) of every
    table no more likely than the observed one, as ``scipy.stats.fisher_exact``.
    """
    total, good = n + m, a + b
    ks = np.arange(max(0, good - m), min(good, n) + 1)
    logp = _log_hypergeom(ks, total, good, n)
    obs = _log_hypergeom(np.array([a]), total, good, n)[0]
    p = np.exp(logp - logp.max())
    keep = logp <= obs + 1e-7 * max(1.0, abs(obs))
    return float(min(1.0, p[keep].sum() / p.sum()))


def kolmogorov_sf(x: float) -> float:
    """Survival function of the Kolmogorov distribution, P(K > x)."""
    if x <= 0:
        return 1.0
    if x < 0.2:
        return 1.0
    j = np.arange(1, 101)
    return float(min(1.0, max(0.0, 2 * np.sum((-1.0) ** (j - 1) * np.exp(-2 * j * j * x * x)))))


def ks_sketch_statistic(live: np.ndarray, grid: np.ndarray, cdf: np.ndarray) -> float:
    """max over the grid of |live ECDF - calibration ECDF| (NaN counted above all)."""
    live = np.sort(np.asarray(live, dtype=np.float64).ravel())
    f_live = np.searchsorted(live, np.asarray(grid), side='right') / live.size
    return float(np.max(np.abs(f_live - np.asarray(cdf))))


def checkpoint_level(level: float, k: int) -> float:
    """Level spent on each test at checkpoint ``k`` (sums to ``level / 2`` over k)."""
    return level / 2 * 6 / (math.pi ** 2 * (k + 1) ** 2)


class DriftMonitor:
    """Sequential drift test of a stream against a calibration reference.

    Args:
        reference (dict): From :func:`drift_reference` (the calibration JSON's
            ``drift`` entry).
        level (float): False-alarm probability over the whole stream, in (0, 1).
        first (int): First checkpoint (images); later ones double it.

    Raises:
        ValueError: On a level outside (0, 1), ``first < 1`` or a reference
            missing a field.
    """

    def __init__(self, reference: dict, level: float = 0.01, first: int = 100):
        self.level = check_level(level)
        if int(first) < 1:
            raise ValueError(f'first={first!r}: the first checkpoint needs >= 1 image.')
        missing = [k for k in ('count', 'exits', 'threshold', 'grid', 'cdf') if k not in reference]
        if missing:
            raise ValueError(f'The drift reference has no {missing}; calibrate again with '
                             'tools/calibrate.py, which stores them under "drift".')
        self.reference, self.first = reference, int(first)
        self.grid, self.cdf = np.asarray(reference['grid']), np.asarray(reference['cdf'])
        self._conf, self._exits, self._k = [], 0, 0
        self.seen = 0
        self.detected_at: Optional[int] = None
        self.statistic: Dict[str, float] = dict(exit_pvalue=1.0, ks=0.0, ks_pvalue=1.0)

    @property
    def detected(self) -> bool:
        """Whether a checkpoint test has rejected."""
        return self.detected_at is not None

    def next_checkpoint(self) -> int:
        """Images after which the next test runs."""
        return self.first * 2 ** self._k

    def update(self, confidence: np.ndarray, exited: np.ndarray) -> bool:
        """Add images in stream order; test at every checkpoint they cross.

        Args:
            confidence (np.ndarray): The saver's confidence per image.
            exited (np.ndarray): Whether each image exited at the saver
                under the calibrated threshold.

        Returns:
            bool: Whether drift has been detected (now or earlier).
        """
        confidence = np.asarray(confidence, dtype=np.float64).ravel()
        exited = np.asarray(exited, dtype=bool).ravel()
        for i in range(confidence.size):  # per image, so a checkpoint falls exactly
            self._conf.append(confidence[i])
            self._exits += int(exited[i])
            self.seen += 1
            if self.detected or self.seen != self.next_checkpoint():
                continue
            self._test()
            self._k += 1
        return self.detected

    def _test(self) -> None:
        ref, alpha = self.reference, checkpoint_level(self.level, self._k)
        p_exit = fisher_exact_pvalue(self._exits, self.seen, ref['exits'], ref['count'])
        d = ks_sketch_statistic(np.array(self._conf), self.grid, self.cdf)
        en = math.sqrt(self.seen * ref['count'] / (self.seen + ref['count']))
        p_ks = kolmogorov_sf(d * en)
        self.statistic = dict(exit_pvalue=p_exit, ks=d, ks_pvalue=p_ks,
                              exit_ratio=self._exits / self.seen, level_spent=alpha)
        if p_exit <= alpha or p_ks <= alpha:
            self.detected_at = self.seen
