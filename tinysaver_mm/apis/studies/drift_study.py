"""Drift study from records: per corruption figures, detection delay, false alarms."""
import json
import os
import os.path as osp
from typing import Dict

import numpy as np
from tqdm import tqdm

from tinysaver_mm.core import DriftMonitor, macs_saved_pct
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.visualization import plot_shift_study
from ..records import load_pair

__all__ = ['drift_study']


def _detect(ref: dict, conf: np.ndarray, thr: float, level: float) -> tuple:
    mon = DriftMonitor(ref, level)
    mon.update(conf, conf >= thr)
    return mon.detected_at, mon.statistic


def drift_study(calibration: str, sets: Dict[str, tuple], level: float = 0.01,
                streams: int = 200, out: str = 'results/shift_fashion_mnist.json',
                overwrite: bool = False, seed: int = 0) -> dict:
    """Simulate the drift monitor on records of clean and corrupted test sets.

    Args:
        calibration (str): Calibration JSON (threshold + ``drift`` reference).
        sets (dict): name -> (saver records, base records); must hold ``'clean'``.
        level (float): False-alarm level of the monitor over a stream.
        streams (int): Random orders of the clean set for the false-alarm rate.
        out (str): JSON path (a ``.png`` goes beside it).
        overwrite (bool): Replace existing outputs.
        seed (int): Seed of the random orders.

    Returns:
        dict: ``rows`` (one per set) and the clean false-alarm rate.
    """
    check_outputs([out, osp.splitext(out)[0] + '.png'], overwrite,
                  [p for pair in sets.values() for p in pair] + [calibration])
    with open(calibration) as f:
        cal = json.load(f)
    thr, ref = cal['threshold'], cal['drift']
    rows, confidences = [], {}
    for name, (s, b) in sets.items():
        d = load_pair(s, b, cal.get('rule', 'max_prob'))
        confidences[name] = d['confidence']
        ex = d['confidence'] >= thr
        casc = np.where(ex, d['saver_correct'], d['base_correct']).mean()
        gmacs = d['gmacs_saver'] + (1 - ex.mean()) * d['gmacs_base']
        at, st = _detect(ref, d['confidence'], thr, level)
        rows.append(dict(corruption=name, saver_top1_pct=100 * d['saver_correct'].mean(),
                         base_top1_pct=100 * d['base_correct'].mean(),
                         cascade_top1_pct=100 * casc,
                         drop_vs_base_pts=100 * (d['base_correct'].mean() - casc),
                         exit_ratio=float(ex.mean()),
                         macs_saved_pct=macs_saved_pct(gmacs, d['gmacs_base']),
                         images_until_drift_warning=at, num_images=int(ex.size),
                         exit_pvalue_at_end=st['exit_pvalue'], ks_at_end=st['ks']))
    clean = confidences['clean']
    rng = np.random.default_rng(seed)
    alarms = sum(_detect(ref, clean[rng.permutation(clean.size)], thr, level)[0] is not None
                 for _ in tqdm(range(streams), desc='clean streams'))
    result = dict(calibration=calibration, level=level, threshold=thr,
                  calibration_exit_ratio=ref['exit_ratio'], calibration_count=ref['count'],
                  test='Fisher exact (exit ratio) + sketch KS (confidence) at checkpoints '
                       '100*2^k, Bonferroni-spent level',
                  clean_streams=streams, clean_false_alarm_rate=alarms / streams, rows=rows)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    plot_shift_study(rows, osp.splitext(out)[0] + '.png')
    return result
