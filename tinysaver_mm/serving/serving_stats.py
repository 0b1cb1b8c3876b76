"""What ``GET /stats`` reports: counts, live exit ratio, latencies, batch sizes, drift."""
import collections
import math
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = ['ServingStats', 'percentiles']


def percentiles(values: Sequence[float], qs=(50, 95, 99)) -> Optional[dict]:
    """``{'p50': ..., 'p95': ..., 'p99': ..., 'n': ...}`` of the values (None when empty)."""
    if len(values) == 0:
        return None
    arr = np.asarray(values, dtype=np.float64)
    out = {f'p{q}': float(np.percentile(arr, q)) for q in qs}
    out['n'] = int(arr.size)
    return out


class ServingStats:
    """Counters of a served cascade, fed by its deployments.

    Latencies and batch sizes are kept for the last ``window`` events (the
    percentiles describe the recent stream); counts are since the start.

    Args:
        stages (Sequence[str]): Routing steps, saver first.
        drift (ExitCUSUM, optional): Sequential drift test fed with every
            image's exit, in arrival order.
        window (int): Events kept for percentiles. Defaults to 10,000.
    """

    def __init__(self, stages: Sequence[str], drift=None, window: int = 10000):
        self.stages, self.drift, self.window = list(stages), drift, int(window)
        self.requests = 0
        self.images = 0
        self.answered_by = collections.Counter()
        self.refused = collections.Counter()
        self.recent_exits = collections.deque(maxlen=self.window)
        self.latency: Dict[str, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=self.window))
        self.batch_sizes: Dict[str, collections.Counter] = collections.defaultdict(
            collections.Counter)
        self.batch_sizes_recent: Dict[str, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=self.window))

    def record_request(self, answered_by: List[str], timing: dict) -> None:
        """An answered request: each image's answering stage; its timings in ms."""
        self.requests += 1
        self.images += len(answered_by)
        self.answered_by.update(answered_by)
        exited = [a == self.stages[0] for a in answered_by]
        self.recent_exits.extend(exited)
        for key, value in timing.items():
            if value is not None and math.isfinite(value):
                self.latency[key].append(float(value))
        if self.drift is not None:
            self.drift.update(exited)

    def record_refusal(self, status: int, kind: str) -> None:
        """A refused request (HTTP status and the error's name)."""
        self.refused[f'{int(status)} {kind}'] += 1

    def record_batch(self, role: str, size: int, ms: float) -> None:
        """One call of a later stage: the rows it gathered and its compute time."""
        self.batch_sizes[role][int(size)] += 1
        self.batch_sizes_recent[role].append(int(size))
        self.latency[f'{role}_compute'].append(float(ms))

    def snapshot(self) -> dict:
        """JSON-ready summary (see the class docstring)."""
        exits = self.answered_by.get(self.stages[0], 0)
        batches = {}
        for role, hist in self.batch_sizes.items():
            recent = list(self.batch_sizes_recent[role])
            batches[role] = dict(histogram={str(k): v for k, v in sorted(hist.items())},
                                 calls=int(sum(hist.values())),
                                 mean=float(np.mean(recent)) if recent else None,
                                 max=max(hist) if hist else None)
        return dict(
            requests_answered=self.requests, images_answered=self.images,
            requests_refused=int(sum(self.refused.values())), refused=dict(self.refused),
            answered_by={s: int(self.answered_by.get(s, 0)) for s in self.stages},
            exit_ratio=exits / self.images if self.images else None,
            exit_ratio_recent=(float(np.mean(self.recent_exits)) if self.recent_exits else None),
            recent_window=self.window,
            latency_ms={k: percentiles(list(v)) for k, v in sorted(self.latency.items())},
            batch_size=batches,
            drift=None if self.drift is None else self.drift.state())
