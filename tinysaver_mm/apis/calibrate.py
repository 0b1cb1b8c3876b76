"""Choose a cascade threshold from records (``tools/calibrate.py``)."""
import csv
import json
import os
import os.path as osp
from typing import Optional

from tinysaver_mm.core import (CONFIDENCE_RULES, drift_reference, AccuracyDropCalibrator,
                               ExitRatioCalibrator, GuaranteedDropCalibrator,
                               LatencyBudgetCalibrator, MacsBudgetCalibrator, cascade_curve,
                               cascade_ms_per_img, macs_saved_pct)
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.visualization import plot_calibration_curve
from .records import check_aligned, load_records

__all__ = ['TARGETS', 'load_pair', 'make_calibrator', 'calibrate']

TARGETS = ('drop', 'guarantee', 'exit', 'gmacs', 'latency')


def load_pair(saver: str, base: str, rule: str = 'max_prob') -> dict:
    """Load aligned saver/base records into the arrays calibration needs.

    Returns:
        dict: ``confidence``, ``saver_correct``, ``base_correct``,
        ``saver_probs`` arrays and ``gmacs_saver``, ``gmacs_base`` (GMACs per
        image), plus ``meta`` (the saver's) and ``base_fingerprint``.

    Raises:
        ValueError: On an unknown rule or misaligned records.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'rule {rule!r} is unknown; choose one of {sorted(CONFIDENCE_RULES)}.')
    need = ('pred', 'labels', 'sample_idx', f'conf_{rule}')
    recs = {saver: load_records(saver, required=need), base: load_records(base, required=need)}
    check_aligned(recs)
    s, b = recs[saver], recs[base]
    return dict(confidence=s[f'conf_{rule}'], saver_correct=s['pred'] == s['labels'],
                base_correct=b['pred'] == b['labels'], saver_probs=s.get('probs'),
                gmacs_saver=s['meta']['macs_per_img'] / 1e9,
                gmacs_base=b['meta']['macs_per_img'] / 1e9, meta=s['meta'],
                base_meta=b['meta'], base_fingerprint=b['meta'].get('fingerprint'))


def make_calibrator(target: str, epsilon: Optional[float] = None,
                    delta: Optional[float] = None, exit_ratio: Optional[float] = None,
                    max_gmacs: Optional[float] = None, gmacs_saver: float = 0.0,
                    gmacs_base: float = 0.0, max_ms_per_img: Optional[float] = None,
                    latency: Optional[tuple] = None):
    """The calibrator object for a target.

    Args:
        latency (tuple, optional): ``(saver, base, batch_size)``: the stages'
            :class:`~tinysaver_mm.core.StageLatency` and the deployment batch
            size, for ``target='latency'``.

    Raises:
        ValueError: On an unknown target or a missing parameter for it.
    """
    need = dict(drop=dict(epsilon=epsilon), guarantee=dict(epsilon=epsilon, delta=delta),
                exit=dict(exit_ratio=exit_ratio), gmacs=dict(max_gmacs=max_gmacs),
                latency=dict(max_ms_per_img=max_ms_per_img, latency_table=latency))
    if target not in need:
        raise ValueError(f'target {target!r} is unknown; choose one of {TARGETS}.')
    missing = [k for k, v in need[target].items() if v is None]
    if missing:
        raise ValueError(f'target {target!r} needs --{missing[0].replace("_", "-")}.')
    if target == 'drop':
        return AccuracyDropCalibrator(epsilon)
    if target == 'guarantee':
        return GuaranteedDropCalibrator(epsilon, delta)
    if target == 'exit':
        return ExitRatioCalibrator(exit_ratio)
    if target == 'latency':
        return LatencyBudgetCalibrator(max_ms_per_img, *latency)
    return MacsBudgetCalibrator(max_gmacs, gmacs_saver, gmacs_base)


def calibrate(saver: str, base: str, target: str, epsilon: Optional[float] = None,
              delta: Optional[float] = None, exit_ratio: Optional[float] = None,
              max_gmacs: Optional[float] = None, rule: str = 'max_prob',
              out: str = 'results/calibration.json', overwrite: bool = False,
              max_ms_per_img: Optional[float] = None, latency_table: Optional[str] = None,
              batch_size: int = 32, backend: str = 'pytorch', device: str = 'cpu') -> dict:
    """Fit a threshold on records and write JSON, a curve CSV and a PNG.

    Args:
        saver (str): Saver records (``.npz`` from ``tools/record.py``).
        base (str): Base records of the same samples.
        target (str): ``'drop'`` (top-1 drop <= epsilon on the records),
            ``'guarantee'`` (drop <= epsilon on new data with probability
            >= 1 - delta), ``'exit'`` (exit share >= exit_ratio) or
            ``'gmacs'`` (cascade GMACs per image <= max_gmacs) or
            ``'latency'`` (measured cascade ms per image <= max_ms_per_img at
            the deployment ``batch_size``, the base timed on the sub-batch
            routing gives it: :func:`~tinysaver_mm.core.cascade_ms_per_img`).
        epsilon, delta, exit_ratio, max_gmacs, max_ms_per_img: The target's
            parameters.
        rule (str): Exit rule whose confidence the records hold.
        out (str): JSON path; ``_curve.csv`` and ``.png`` go beside it.
        overwrite (bool): Replace those files when they exist.
        latency_table (str, optional): Per-stage latency CSV of
            ``tools/benchmark.py``; with it the result also gives ms per image.
        batch_size (int): Deployment batch size (latency).
        backend (str): The backend whose times count (latency).
        device (str): The device whose times count (latency).

    Returns:
        dict: threshold, expected exit ratio / top-1 / GMACs (and ms per image
        with a latency table) and how to use it,
        the stages' ``fingerprints`` and ``drift`` (what the calibration saw:
        exit ratio, count, confidence sketch; see :func:`drift_reference`).

    Raises:
        OutputExistsError: If an output exists and ``overwrite`` is False.
        ValueError: If an output is one of the record files.
    """
    stem = osp.splitext(out)[0]
    check_outputs([out, stem + '_curve.csv', stem + '.png'], overwrite, [saver, base])
    d = load_pair(saver, base, rule)
    latency = None
    if latency_table is not None:
        from .latency_table import load_stage_latency, record_model_name
        latency = tuple(load_stage_latency(latency_table, record_model_name(m, p), backend,
                                           device)
                        for m, p in ((d['meta'], saver), (d['base_meta'], base))) + (batch_size, )
    cal = make_calibrator(target, epsilon, delta, exit_ratio, max_gmacs,
                          d['gmacs_saver'], d['gmacs_base'], max_ms_per_img, latency)
    cal.fit(d['confidence'], d['saver_correct'], d['base_correct'])
    gmacs = d['gmacs_saver'] + (1.0 - cal.exit_ratio_) * d['gmacs_base']
    result = dict(
        target=target, epsilon=epsilon, delta=delta, rule=rule, records=d['meta']['split'],
        num_samples=int(d['confidence'].size), threshold=cal.threshold_,
        exit_ratio=cal.exit_ratio_, top1=100 * cal.accuracy_,
        base_top1=100 * cal.base_accuracy_, saver_top1=100 * cal.saver_accuracy_,
        gmacs_saver=d['gmacs_saver'], gmacs_base=d['gmacs_base'], gmacs_cascade=gmacs,
        macs_saved_pct=macs_saved_pct(gmacs, d['gmacs_base']),
        drop_ucb=getattr(cal, 'drop_ucb_', None),
        cfg_options=f'--cfg-options model.threshold={cal.threshold_!r} model.exit_rule={rule}',
        fingerprints=dict(saver=d['meta'].get('fingerprint'), base=d['base_fingerprint']),
        drift=drift_reference(d['confidence'], cal.threshold_))
    if latency is not None:
        lat_saver, lat_base, bs = latency
        result.update(max_ms_per_img=max_ms_per_img, latency_batch_size=bs,
                      latency_backend=backend, latency_device=device,
                      ms_per_img_saver=lat_saver.ms_per_img(bs),
                      ms_per_img_base=lat_base.ms_per_img(bs),
                      ms_per_img_cascade=float(cascade_ms_per_img(cal.exit_ratio_, lat_saver,
                                                                  lat_base, bs)))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    curve = cascade_curve(d['confidence'], d['saver_correct'], d['base_correct'])
    curve['gmacs_cascade'] = d['gmacs_saver'] + (1 - curve['exit_ratio']) * d['gmacs_base']
    with open(stem + '_curve.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['threshold', 'exit_ratio', 'top1_pct', 'gmacs_cascade'])
        for row in zip(curve['threshold'], curve['exit_ratio'], curve['accuracy'],
                       curve['gmacs_cascade']):
            w.writerow([f'{row[0]:.8g}', f'{row[1]:.6g}', f'{100 * row[2]:.6g}', f'{row[3]:.6g}'])
    plot_calibration_curve(curve, result, stem + '.png')
    return result
