"""A sequential drift test on the exit stream for long-running streams (plain numpy).

:class:`~tinysaver_mm.core.drift.DriftMonitor` tests everything seen since the
start at doubling checkpoints: fine for one test set, slow for a stream that
runs for days (a change after 10,000 clean images is diluted by them). Page's
CUSUM forgets the past: each side keeps

    S_t = max(0, S_{t-1} + log(p1 / p0) if exited else log((1 - p1) / (1 - p0)))

(the log-likelihood ratio of "exit ratio p1" against the calibrated "p0"),
and raises an alarm when ``S_t >= h``; after an alarm it restarts from 0, so
alarms keep being counted on an endless stream. Two sides watch
``p1 = p0 + shift`` and ``p1 = p0 - shift``.

The threshold ``h`` is set from a false-alarm budget: the average run length
between false alarms on clean data (ARL0) of each one-sided CUSUM is computed
exactly, with Brook and Evans's Markov chain on the integer statistic's
states 0..h-1 (alarm = absorbing), and ``h`` is the smallest integer such that the
two sides together raise at most ``false_alarms_per_10k`` alarms per 10,000 clean images
(1 / ARL0 of the two-sided test ~ 1 / ARL0+ + 1 / ARL0-). These are expected
rates under the calibration's exit ratio; the measured ones on real clean and
shifted streams are what ``tools/serve_drift_study.py`` reports.
"""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = ['cusum_increments', 'cusum_arl', 'cusum_threshold', 'cusum_path', 'ExitCUSUM']


def _check_ratio(p0, name: str = 'exit_ratio') -> float:
    try:
        value = float(p0)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number strictly inside (0, 1), got {p0!r}.') from None
    if not 0.0 < value < 1.0:
        raise ValueError(f'{name}={p0!r} must be strictly inside (0, 1): a CUSUM on the exit '
                         'stream needs a calibration where some images exit and some do not.')
    return value


def cusum_increments(p0: float, p1: float, units: int = 3) -> tuple:
    """Integer log-likelihood-ratio increments of one image: ``(if exited, if not)``.

    The ratios ``log(p1 / p0)`` and ``log((1 - p1) / (1 - p0))`` are scaled so
    that the smaller in size is ``units`` and rounded: the statistic then lives
    on the integers, and :func:`cusum_arl`'s Markov chain is exact for it.

    Raises:
        ValueError: If ``p0`` or ``p1`` is not strictly inside (0, 1), or equal.
    """
    p0, p1 = _check_ratio(p0, 'p0'), _check_ratio(p1, 'p1')
    if p0 == p1:
        raise ValueError(f'p1={p1!r} equals p0: a CUSUM needs an alternative exit ratio.')
    if int(units) < 1:
        raise ValueError(f'units={units!r} must be >= 1.')
    a, b = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    scale = int(units) / min(abs(a), abs(b))
    return int(round(a * scale)), int(round(b * scale))


def cusum_arl(p0: float, p1: float, h: int, p: Optional[float] = None, units: int = 3) -> float:
    """Average run length until a one-sided Bernoulli CUSUM alarms (exact).

    The integer statistic (:func:`cusum_increments`) starts at 0 and alarms
    at ``>= h``; each image exits with probability ``p``. The expected run
    length solves the Markov chain on the states 0..h-1 (Brook and Evans).

    Args:
        p0 (float): The in-control exit ratio.
        p1 (float): The exit ratio the CUSUM watches for.
        h (int): Alarm threshold (>= 1), in increment units.
        p (float, optional): The real exit ratio; ``p0`` by default (ARL0).
        units (int): Resolution of the increments.

    Returns:
        float: Expected images until the first alarm.

    Raises:
        ValueError: On ratios outside (0, 1) or ``h < 1``.
    """
    if int(h) != h or h < 1:
        raise ValueError(f'h={h!r} must be a whole number >= 1.')
    h = int(h)
    up, down = cusum_increments(p0, p1, units)
    p = p0 if p is None else _check_ratio(p, 'p')
    idx = np.arange(h)
    q = np.zeros((h, h))
    for step, prob in ((up, p), (down, 1 - p)):
        to = np.maximum(idx + step, 0)
        stay = to < h  # to >= h: alarm (absorbed)
        np.add.at(q, (idx[stay], to[stay]), prob)
    arl = np.linalg.solve(np.eye(h) - q, np.ones(h))
    return float(arl[0])


def cusum_threshold(p0: float, p1: float, arl0: float, units: int = 3) -> int:
    """The smallest threshold whose in-control average run length is >= ``arl0``.

    Raises:
        ValueError: If ``arl0 <= 1`` or the ratios are invalid.
    """
    if not float(arl0) > 1:
        raise ValueError(f'arl0={arl0!r} must be > 1 image.')
    up, down = cusum_increments(p0, p1, units)
    lo, hi = 0, max(abs(up), abs(down))  # arl(lo) < arl0 <= arl(hi) once hi is found
    while cusum_arl(p0, p1, hi, units=units) < arl0:
        lo, hi = hi, hi * 2
        if hi > 20000:
            raise ValueError(f'no threshold reaches arl0={arl0!r}; ask for more false alarms '
                             'or a larger shift.')
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cusum_arl(p0, p1, mid, units=units) < arl0:
            lo = mid
        else:
            hi = mid
    return hi


def cusum_path(exited: Sequence[bool], p0: float, p1: float, h: int,
               units: int = 3) -> List[int]:
    """Brute force: the 1-based positions where a one-sided CUSUM alarms (restarting at 0).

    Args:
        exited (Sequence[bool]): The exit stream, in order.
        p0, p1, h, units: As :func:`cusum_arl`.

    Returns:
        list[int]: Image counts at each alarm.
    """
    up, down = cusum_increments(p0, p1, units)
    s, alarms = 0, []
    for i, e in enumerate(np.asarray(exited, dtype=bool).tolist(), 1):
        s = max(0, s + (up if e else down))
        if s >= h:
            alarms.append(i)
            s = 0
    return alarms


class ExitCUSUM:
    """Two-sided Bernoulli CUSUM on the exit stream, for streams that run for days.

    Args:
        exit_ratio (float): The calibrated exit ratio (the drift reference's
            ``exit_ratio``), strictly inside (0, 1).
        shift (float): The change in exit ratio to detect fastest (each side
            watches ``exit_ratio +/- shift``). Defaults to 0.05.
        false_alarms_per_10k (float): Expected false alarms per 10,000 clean
            images (both sides together). Defaults to 0.1 (one per 100,000).
        units (int): Resolution of the integer increments
            (:func:`cusum_increments`).

    Raises:
        ValueError: On an exit ratio outside (0, 1), a shift that leaves no
            alternative inside (0, 1) on either side, or a rate <= 0.
    """

    def __init__(self, exit_ratio: float, shift: float = 0.05,
                 false_alarms_per_10k: float = 0.1, units: int = 3):
        self.p0 = _check_ratio(exit_ratio)
        try:
            self.shift = float(shift)
        except (TypeError, ValueError):
            raise ValueError(f'shift must be a number in (0, 1), got {shift!r}.') from None
        if not 0.0 < self.shift < 1.0:
            raise ValueError(f'shift={shift!r} must be in (0, 1), e.g. 0.05.')
        rate = float(false_alarms_per_10k)
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f'false_alarms_per_10k={false_alarms_per_10k!r} must be > 0, '
                             'e.g. 0.1 (one false alarm per 100,000 clean images).')
        self.false_alarms_per_10k = rate
        eps = 1e-4
        self.p_up = min(self.p0 + self.shift, 1 - eps)
        self.p_down = max(self.p0 - self.shift, eps)
        if self.p_up <= self.p0 or self.p_down >= self.p0:
            raise ValueError(f'shift={shift!r} leaves no alternative inside (0, 1) around '
                             f'exit_ratio={self.p0}.')
        side_arl = 2 * 10000.0 / rate  # each side spends half the budget
        self.units = int(units)
        self.chunk = 4096  # images per vectorised step of :meth:`update`
        self.h_up = cusum_threshold(self.p0, self.p_up, side_arl, self.units)
        self.h_down = cusum_threshold(self.p0, self.p_down, side_arl, self.units)
        self._inc = dict(up=cusum_increments(self.p0, self.p_up, self.units),
                         down=cusum_increments(self.p0, self.p_down, self.units))
        self.reset()

    def reset(self) -> None:
        """Start again: no image seen, statistics at 0, no alarm."""
        self.seen, self.exits = 0, 0
        self.s_up, self.s_down = 0, 0
        self.alarms: List[Dict[str, object]] = []
        self._since = 0  # images since the last alarm (or the start)
        self._exits_since = 0

    def update(self, exited: Sequence[bool]) -> List[Dict[str, object]]:
        """Add images in stream order (NaN exit scores count as not exited).

        Args:
            exited (Sequence[bool]): Whether each image exited at the saver.

        Returns:
            list[dict]: The alarms these images raised: ``at`` (image count),
            ``side`` (``'up'``: more exits than calibrated, ``'down'``: fewer),
            ``exit_ratio_since_restart``.
        """
        x = np.asarray(exited, dtype=bool).ravel()
        new, pos = [], 0
        while pos < x.size:
            seg = x[pos:pos + self.chunk]
            # Lindley's recursion in closed form: with C the cumulative increments,
            # S_t = C_t - min(-S_0, C_1, ..., C_t) (S never below 0, starting at S_0)
            sides = []
            for (inc1, inc0), s0 in ((self._inc['up'], self.s_up), (self._inc['down'],
                                                                     self.s_down)):
                c = np.where(seg, inc1, inc0).cumsum()
                sides.append(c - np.minimum(np.minimum.accumulate(c), -s0))
            s_up, s_down = sides
            hit = np.flatnonzero((s_up >= self.h_up) | (s_down >= self.h_down))
            stop = int(hit[0]) + 1 if hit.size else seg.size
            exits = int(seg[:stop].sum())
            self.seen += stop
            self.exits += exits
            self._since += stop
            self._exits_since += exits
            pos += stop
            if not hit.size:
                self.s_up, self.s_down = int(s_up[-1]), int(s_down[-1])
                continue
            alarm = dict(at=self.seen, side='up' if s_up[stop - 1] >= self.h_up else 'down',
                         exit_ratio_since_restart=self._exits_since / self._since)
            self.alarms.append(alarm)
            new.append(alarm)
            self.s_up = self.s_down = 0
            self._since = self._exits_since = 0
        return new

    def state(self) -> dict:
        """JSON-ready summary: the design, the statistics now, the alarms so far."""
        return dict(test='two-sided Bernoulli CUSUM on the exit stream (restarts after an '
                         'alarm)',
                    calibrated_exit_ratio=self.p0, shift=self.shift,
                    false_alarms_per_10k_design=self.false_alarms_per_10k,
                    h_up=self.h_up, h_down=self.h_down, seen=self.seen,
                    live_exit_ratio=self.exits / self.seen if self.seen else None,
                    s_up=self.s_up, s_down=self.s_down, s_up_fraction=self.s_up / self.h_up,
                    s_down_fraction=self.s_down / self.h_down,
                    alarms=len(self.alarms), last_alarm=self.alarms[-1] if self.alarms else None,
                    drift=bool(self.alarms))
