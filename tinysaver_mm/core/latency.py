"""Latency as a cascade's cost: measured per-batch times, not MACs (plain numpy).

A stage's time is measured per image at a few batch sizes (``tools/benchmark.py``
writes them). Routing hands the base a sub-batch: at deployment batch size ``B``
and exit ratio ``r`` it runs on ``n = (1 - r) B`` rows, and a small batch costs
more per image than a large one. So the cascade's time per image is

    saver_ms(B) + base_batch_ms(n) / B,   base_batch_ms(n) = n * base_ms(n),

with ``base_batch_ms`` interpolated linearly in ``n`` between measured batch sizes
(and 0 at ``n = 0``). At ``r = 0`` it is saver + base, at ``r = 1`` the saver alone.
"""
from typing import Dict, Mapping

import numpy as np

__all__ = ['StageLatency', 'cascade_ms_per_img', 'stage_latencies']


class StageLatency:
    """Time per batch of one stage, from per-image times measured at some batch sizes.

    Args:
        ms_per_img (Mapping[int, float]): Batch size (>= 1) -> measured
            milliseconds per image at that batch size.
        name (str): What to call the stage in errors.

    Raises:
        ValueError: If there is no measurement, a batch size is not a whole
            number >= 1, or a time is not a positive finite number.
    """

    def __init__(self, ms_per_img: Mapping[int, float], name: str = 'stage'):
        if not ms_per_img:
            raise ValueError(f'{name}: no latency measurement; run tools/benchmark.py first.')
        sizes, times = [], []
        for bs, ms in sorted(ms_per_img.items()):
            if int(bs) != bs or bs < 1:
                raise ValueError(f'{name}: batch size {bs!r} must be a whole number >= 1.')
            if not np.isfinite(ms) or ms <= 0:
                raise ValueError(f'{name}: ms per image {ms!r} at batch {bs} must be a '
                                 'positive finite number.')
            sizes.append(int(bs))
            times.append(float(ms) * int(bs))
        self.name = name
        self.sizes = np.asarray([0] + sizes, dtype=np.float64)
        self.batch_ms = np.asarray([0.0] + times)

    @property
    def max_batch(self) -> int:
        """The largest measured batch size."""
        return int(self.sizes[-1])

    def ms_per_batch(self, n) -> np.ndarray:
        """Milliseconds for a batch of ``n`` rows (0 for none), interpolated.

        Raises:
            ValueError: If ``n`` is negative or above the largest measured size.
        """
        n = np.asarray(n, dtype=np.float64)
        if np.any(n < 0) or np.any(n > self.sizes[-1] + 1e-9):
            raise ValueError(f'{self.name}: batch of {n.max():g} rows is outside the measured '
                             f'sizes (up to {self.max_batch}); benchmark larger batches.')
        return np.interp(n, self.sizes, self.batch_ms)

    def ms_per_img(self, batch_size: int) -> float:
        """Milliseconds per image at ``batch_size`` (interpolated if not measured)."""
        return float(self.ms_per_batch(batch_size)) / batch_size


def cascade_ms_per_img(exit_ratio, saver: StageLatency, base: StageLatency,
                       batch_size: int) -> np.ndarray:
    """A two-stage cascade's milliseconds per image at a deployment batch size.

    Args:
        exit_ratio (float | np.ndarray): Share of images that exit at the saver.
        saver, base (StageLatency): The stages' measured times.
        batch_size (int): Deployment batch size, at most both stages' largest
            measured batch.

    Returns:
        np.ndarray: ``saver_ms(B) + base_batch_ms((1 - r) B) / B`` per exit ratio.

    Raises:
        ValueError: On an exit ratio outside [0, 1] or a batch size outside
            the measured ones.
    """
    r = np.asarray(exit_ratio, dtype=np.float64)
    if np.any(r < -1e-12) or np.any(r > 1 + 1e-12):
        raise ValueError(f'exit ratio {r!r} must be in [0, 1].')
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f'batch size {batch_size!r} must be a whole number >= 1.')
    bs = int(batch_size)
    rows = np.clip(1.0 - r, 0.0, 1.0) * bs
    return saver.ms_per_img(bs) + base.ms_per_batch(rows) / bs


def stage_latencies(table: Dict[str, Mapping[int, float]]) -> Dict[str, StageLatency]:
    """``{stage: StageLatency}`` from ``{stage: {batch_size: ms_per_img}}``."""
    return {k: StageLatency(v, k) for k, v in table.items()}
