"""The calibrator contract, the two-stage cascade curve and argument checks.

Every calibrator of :mod:`tinysaver_mm.core.calibration` follows one
contract (scikit-learn style), stated by :class:`BaseCalibrator`.
"""
import math

import numpy as np

__all__ = ['BaseCalibrator', 'cascade_curve']

_TOL = 1e-12  # float slack when comparing shares, costs and drops to a target


def _number(value, name: str) -> float:
    """``value`` as a finite float, or a ValueError naming it."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number, got {value!r}.') from None
    if not math.isfinite(out):
        raise ValueError(f'{name} must be finite, got {value!r}.')
    return out


def _positive(value, name: str) -> float:
    """``value`` as a positive finite float, or a ValueError naming it."""
    out = _number(value, name)
    if out <= 0.0:
        raise ValueError(f'{name} must be positive, got {value!r}.')
    return out


def _open_unit(value, name: str) -> float:
    """``value`` as a float in the open interval (0, 1), else ValueError."""
    out = _number(value, name)
    if not 0.0 < out < 1.0:
        raise ValueError(f'{name}={value!r} must be in the open interval '
                         '(0, 1).')
    return out


def _int_at_least(value, name: str, low: int, what: str = '') -> int:
    """``value`` as an int >= ``low`` (a bool refused), else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        need = 'a positive integer' if low == 1 else f'an integer >= {low}'
        raise ValueError(f'{name}={value!r} must be {need}{what}.')
    return int(value)


def _binary(values, name: str) -> np.ndarray:
    """``values`` as a float 0/1 array, else ValueError naming it."""
    out = np.asarray(values, dtype=np.float64)
    if not np.all((out == 0) | (out == 1)):
        raise ValueError(f'{name} must hold only 0/1 (or bool) values.')
    return out


def cascade_curve(confidence: np.ndarray, saver_correct: np.ndarray,
                  base_correct: np.ndarray) -> dict:
    """Exit ratio and accuracy of the cascade at every distinct threshold.

    A sample exits when ``confidence >= threshold``. The candidate thresholds
    are the distinct confidences (each admits every sample tied with it) plus
    1.0 (the strictest threshold allowed).

    Args:
        confidence (np.ndarray): Saver confidence per sample, shape (N,).
        saver_correct (np.ndarray): Whether the saver is right, shape (N,).
        base_correct (np.ndarray): Whether the base is right, shape (N,).

    Returns:
        dict: ``threshold``, ``exit_ratio`` and ``accuracy`` arrays, sorted by
        decreasing threshold (increasing exit ratio).

    Raises:
        ValueError: If there are no samples or the lengths differ.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    s = np.asarray(saver_correct, dtype=np.float64)
    b = np.asarray(base_correct, dtype=np.float64)
    if conf.size == 0:
        raise ValueError('No records: cannot calibrate on an empty set.')
    if not conf.shape == s.shape == b.shape:
        raise ValueError(f'Record lengths differ: confidence {conf.shape}, '
                         f'saver {s.shape}, base {b.shape}.')
    order = np.argsort(-conf, kind='stable')
    c, s, b = conf[order], s[order], b[order]
    thresholds = np.unique(np.append(c, 1.0))[::-1]
    # number of samples with conf >= t, for each t (c is descending)
    exits = np.searchsorted(-c, -thresholds, side='right')
    cum_s = np.concatenate([[0.0], np.cumsum(s)])
    cum_b = np.concatenate([[0.0], np.cumsum(b)])
    n = conf.size
    accuracy = (cum_s[exits] + cum_b[-1] - cum_b[exits]) / n
    return dict(threshold=thresholds, exit_ratio=exits / n, accuracy=accuracy)


class BaseCalibrator:
    """The contract every calibrator follows (scikit-learn style).

    - The constructor only checks and stores the target (attributes named
      like its arguments); it looks at no records and raises a ValueError
      naming a bad argument.
    - ``fit(records...)`` learns from calibration records and returns the
      calibrator itself, so ``X(...).fit(...).threshold_`` works.
    - What ``fit`` learns ends in ``_``: ``threshold_``, the exit threshold of
      a two-stage cascade (the saver's), or ``thresholds_``, one per stage but
      the last, for more stages; beside it the figures the records give there.
    - A target no threshold meets on the records raises a ValueError saying
      why and what to change; ``fit`` never falls back silently to another
      threshold.
    """

    def fit(self, *records) -> 'BaseCalibrator':
        """Learn the threshold(s) from calibration records.

        Returns:
            The calibrator itself.
        """
        raise NotImplementedError


class _CurveCalibrator(BaseCalibrator):
    """Shared ``fit``: subclasses pick one point of the cascade curve."""

    def _choose(self, curve: dict, confidence: np.ndarray,
                saver_correct: np.ndarray, base_correct: np.ndarray) -> int:
        """Index into ``curve`` (sorted by decreasing threshold) to keep."""
        raise NotImplementedError

    def fit(self, confidence: np.ndarray, saver_correct: np.ndarray,
            base_correct: np.ndarray) -> '_CurveCalibrator':
        """Learn ``threshold_`` and the record statistics that go with it.

        Args:
            confidence (np.ndarray): Saver confidence of each record, (N,).
            saver_correct (np.ndarray): 1/True where the saver is right.
            base_correct (np.ndarray): 1/True where the base is right.

        Returns:
            The calibrator itself (scikit-learn style).

        Raises:
            ValueError: On empty records, mismatched lengths or a target no
                threshold meets on these records.
        """
        curve = cascade_curve(confidence, saver_correct, base_correct)
        idx = self._choose(curve, confidence, saver_correct, base_correct)
        self.base_accuracy_ = float(np.mean(base_correct))
        self.saver_accuracy_ = float(np.mean(saver_correct))
        self.threshold_ = float(curve['threshold'][idx])
        self.exit_ratio_ = float(curve['exit_ratio'][idx])
        self.accuracy_ = float(curve['accuracy'][idx])
        return self
