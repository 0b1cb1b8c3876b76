"""The serving drift test (CUSUM on the exit stream) simulated on the corruption suite.

Streams are drawn from real records: the demo cascade's exits on the clean
Fashion-MNIST test split and on each corrupted copy (``tools/make_fmnist_shift.py``).
Two figures per test:

- false alarms per 10,000 clean requests: long streams of clean test images
  (drawn with replacement), alarms counted with restarts;
- detection delay after a change point: ``clean_before`` clean images, then a
  stream in which each image is a corrupted one with probability ``share``
  (1, 0.1, 0.05: a whole shift or a shifted part of the traffic), the delay
  being the images after the change point until the first alarm there (a
  stream with an alarm before the change point counts as a false alarm; one
  without an alarm within ``horizon`` images as missed).

The checkpoint test of :class:`~tinysaver_mm.core.DriftMonitor` (today's
hook) runs on the very same streams, for comparison.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import numpy as np

from tinysaver_mm.core import DriftMonitor
from tinysaver_mm.core.cusum import ExitCUSUM
from tinysaver_mm.utils import check_outputs
from ..records import load_pair

__all__ = ['cusum_study']


def _summary(delays: list, early: int, streams: int, horizon: int) -> dict:
    found = [d for d in delays if d is not None]
    return dict(detected_pct=100.0 * len(found) / streams,
                median_delay=float(np.median(found)) if found else None,
                p90_delay=float(np.percentile(found, 90)) if found else None,
                alarm_before_change_pct=100.0 * early / streams, horizon=horizon)


def cusum_study(calibration: str, sets: Dict[str, tuple], shares: Sequence[float] = (1.0, 0.1,
                                                                                     0.05),
                shift: float = 0.05, false_alarms_per_10k: float = 0.1, level: float = 0.01,
                clean_before: int = 10000, horizon: int = 30000, streams: int = 20,
                clean_images: int = 2000000, out: str = 'results/drift_cusum_fashion_mnist.json',
                overwrite: bool = False, seed: int = 0) -> dict:
    """Simulate the CUSUM drift test (and the checkpoint test) on records.

    Args:
        calibration (str): Calibration JSON (threshold + ``drift`` reference).
        sets (dict): name -> (saver records, base records); must hold ``'clean'``.
        shares (Sequence[float]): Shifted shares of the traffic after the change.
        shift, false_alarms_per_10k: The CUSUM's design (:class:`ExitCUSUM`).
        level (float): The checkpoint test's level.
        clean_before (int): Clean images before the change point.
        horizon (int): Images after the change point a detection may take.
        streams (int): Streams per corruption and share.
        clean_images (int): Clean images streamed for the false-alarm rate.
        out (str): JSON path.
        overwrite (bool): Replace ``out``.
        seed (int): Seed of the streams.

    Returns:
        dict: The design, the clean false-alarm rate and one row per
        corruption and share.

    Raises:
        ValueError: If ``sets`` has no ``'clean'`` entry.
    """
    if 'clean' not in sets:
        raise ValueError("sets needs a 'clean' entry: the records of the clean test split.")
    check_outputs([out], overwrite, [p for pair in sets.values() for p in pair] + [calibration])
    with open(calibration) as f:
        cal = json.load(f)
    thr, ref = cal['threshold'], cal['drift']
    conf = {name: load_pair(s, b, cal.get('rule', 'max_prob'))['confidence']
            for name, (s, b) in sets.items()}
    exits = {name: c >= thr for name, c in conf.items()}  # NaN never exits
    rng = np.random.default_rng(seed)
    cusum = ExitCUSUM(ref['exit_ratio'], shift, false_alarms_per_10k)
    clean = exits['clean']
    alarms, done = 0, 0
    while done < clean_images:
        n = min(100000, clean_images - done)
        cusum.reset()
        alarms += len(cusum.update(clean[rng.integers(0, clean.size, n)]))
        done += n
    rows = []
    for name in [n for n in sets if n != 'clean']:
        for share in shares:
            res = dict(cusum=([], 0), checkpoints=([], 0))
            for _ in range(streams):
                before = rng.permutation(clean.size)[:clean_before] if clean_before <= \
                    clean.size else rng.integers(0, clean.size, clean_before)
                shifted = rng.random(horizon) < share
                idx = rng.integers(0, clean.size, horizon)
                after_conf = np.where(shifted, conf[name][idx], conf['clean'][idx])
                stream_conf = np.r_[conf['clean'][before], after_conf]
                stream = stream_conf >= thr
                cusum.reset()
                first = [a['at'] for a in cusum.update(stream)]
                mon = DriftMonitor(ref, level)  # the same images, the same order
                mon.update(stream_conf, stream)
                for key, at in (('cusum', first[0] if first else None),
                                ('checkpoints', mon.detected_at)):
                    delays, early = res[key]
                    if at is not None and at <= clean_before:
                        res[key] = (delays, early + 1)
                    else:
                        delays.append(None if at is None else at - clean_before)
            rows.append(dict(corruption=name, shifted_share=share,
                             exit_ratio_after=float(share * exits[name].mean()
                                                    + (1 - share) * clean.mean()),
                             cusum=_summary(*res['cusum'], streams, horizon),
                             checkpoints=_summary(*res['checkpoints'], streams, horizon)))
    result = dict(
        calibration=calibration, threshold=thr, calibrated_exit_ratio=ref['exit_ratio'],
        clean_test_exit_ratio=float(clean.mean()),
        cusum=dict(shift=shift, false_alarms_per_10k_design=false_alarms_per_10k,
                   h_up=cusum.h_up, h_down=cusum.h_down),
        clean_images=clean_images, clean_false_alarms=alarms,
        clean_false_alarms_per_10k=1e4 * alarms / clean_images,
        checkpoints_level=level, clean_before=clean_before, streams=streams, rows=rows,
        how='clean test images drawn with replacement; after the change point each image is '
            'a corrupted one with probability shifted_share; delays in images after the '
            'change point; the checkpoint test (DriftMonitor) on the same streams')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    return result
