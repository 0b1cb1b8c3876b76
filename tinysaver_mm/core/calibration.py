"""Pick an exit threshold from records of the saver and the base."""

import numpy as np

__all__ = ['cascade_curve', 'AccuracyDropCalibrator']


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


class _CurveCalibrator:
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


class AccuracyDropCalibrator(_CurveCalibrator):
    """Lowest threshold (most exits) whose accuracy drop vs the base is <= eps.

    The drop is a point estimate on the calibration records; it carries no
    guarantee on new data.

    Args:
        max_drop (float): Largest allowed top-1 drop vs the base, as a
            fraction in (0, 1) (0.001 = 0.1 points).

    Attributes:
        threshold_ (float): The chosen threshold.
        exit_ratio_ (float): Exit share at ``threshold_`` on the records.
        accuracy_ (float): Cascade top-1 at ``threshold_`` on the records.
        base_accuracy_ (float): Base top-1 on the records.
        saver_accuracy_ (float): Saver top-1 on the records.
    """

    def __init__(self, max_drop: float = 0.001):
        if not 0.0 < float(max_drop) < 1.0:
            raise ValueError(f'max_drop={max_drop!r} must be in (0, 1), a '
                             'fraction of top-1 (e.g. 0.001 = 0.1 points).')
        self.max_drop = float(max_drop)

    def _choose(self, curve, confidence, saver_correct, base_correct):
        """Most exits whose accuracy is within ``max_drop`` of the base's.

        Raises:
            ValueError: If even the strictest threshold drops too much.
        """
        base = float(np.mean(base_correct))
        ok = np.flatnonzero(curve['accuracy'] >= base - self.max_drop - 1e-12)
        if ok.size == 0:
            raise ValueError(
                f'No threshold keeps the drop within {self.max_drop}: even at '
                f'1.0 the cascade reaches {curve["accuracy"][0]:.4f} vs the '
                f'base {base:.4f}. Allow a larger max_drop.')
        return int(ok[-1])
