"""Choose a cascade threshold from records (``tools/calibrate.py``)."""
import csv
import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from tinysaver_mm.core import (CONFIDENCE_RULES, drift_reference, AccuracyDropCalibrator,
                               ExitRatioCalibrator, GuaranteedDropCalibrator,
                               LatencyBudgetCalibrator, MacsBudgetCalibrator, cascade_curve,
                               cascade_ms_per_img, macs_saved_pct)
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.visualization import plot_calibration_curve
from .records import check_aligned, check_distinct, load_records

__all__ = ['TARGETS', 'EXIT_TARGETS', 'load_pair', 'make_calibrator', 'calibrate',
           'load_exits', 'calibrate_exits']

TARGETS = ('drop', 'guarantee', 'exit', 'gmacs', 'latency')


def load_pair(saver: str, base: str, rule: str = 'max_prob') -> dict:
    """Load aligned saver/base records into the arrays calibration needs.

    Returns:
        dict: ``confidence``, ``saver_correct``, ``base_correct``,
        ``saver_probs`` arrays and ``gmacs_saver``, ``gmacs_base`` (GMACs per
        image), plus ``meta`` (the saver's) and ``base_fingerprint``.

    Raises:
        ValueError: On an unknown rule, misaligned records, or one file (or
            one model's records) given as both stages.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'rule {rule!r} is unknown; choose one of {sorted(CONFIDENCE_RULES)}.')
    need = ('pred', 'labels', 'sample_idx', f'conf_{rule}')
    check_distinct([saver, base])
    recs = {saver: load_records(saver, required=need), base: load_records(base, required=need)}
    check_distinct([saver, base], recs)
    check_aligned(recs)
    s, b = recs[saver], recs[base]
    _route_steps([s['meta'], b['meta']])  # refuses an ESN's steps: it has more than two
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


#: targets of a search over more than two records
EXIT_TARGETS = ('drop', 'guarantee', 'gmacs')


def load_exits(records: Sequence[str], rule: str = 'max_prob') -> dict:
    """Load aligned records of every exit of a cascade, in order.

    Either one record per stage of a k-stage cascade (each stage's MACs are
    its own whole cost) or the routing steps of an ESN from one
    ``tools/record.py`` run (each step's MACs are what it adds; all of them,
    in order, are needed).

    Returns:
        dict: ``names`` (the routing steps', or ``saver``, ``mid0``...,
        ``base``), ``confidences``, ``corrects`` (lists), ``gmacs``
        (what each exit adds, GMACs/img), ``gmacs_base_alone``,
        ``route_steps`` (bool), ``metas``.

    Raises:
        ValueError: On an unknown rule, misaligned records, a file (or one
            model's records) given twice, or routing-step records that are not
            every step of one run, in order.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'rule {rule!r} is unknown; choose one of {sorted(CONFIDENCE_RULES)}.')
    need = ('pred', 'labels', 'sample_idx', f'conf_{rule}')
    check_distinct(records)
    recs = {p: load_records(p, required=need) for p in records}
    check_distinct(records, recs)
    check_aligned(recs)
    metas = [r['meta'] for r in recs.values()]
    steps = _route_steps(metas)
    gmacs = [m['macs_per_img'] / 1e9 for m in metas]
    # routing steps by their own names; stages as a cascade names them
    names = [m['stage'] for m in metas] if steps else \
        (['saver'] + [f'mid{i}' for i in range(len(metas) - 2)] + ['base'])[-len(metas):]
    return dict(names=names,
                confidences=[r[f'conf_{rule}'] for r in recs.values()],
                corrects=[r['pred'] == r['labels'] for r in recs.values()],
                gmacs=gmacs, route_steps=steps, metas=metas,
                gmacs_base_alone=metas[0]['macs_base_alone'] / 1e9 if steps else gmacs[-1])


def _route_steps(metas: Sequence[dict]) -> bool:
    """Whether records are a TinySaverESN's routing steps (then all of one run's, in order).

    Raises:
        ValueError: If some are routing steps but not every step of one run, in
            order (a step's MACs are what it adds to the ones before it).
    """
    steps = [m.get('route_steps') for m in metas]
    if not any(steps):
        return False
    names = [m['stage'] for m in metas]
    recorded = next(s for s in steps if s)
    if not all(steps) or any(s != recorded for s in steps) or names != recorded or \
            len({m['config'] for m in metas}) != 1:
        raise ValueError(
            f'These are routing steps of a TinySaverESN but not every step of one run in '
            f'order: got steps {names}, the run recorded {recorded}. Give all of them, in '
            'order (a step\'s MACs are what it adds to the ones before it): '
            + ' '.join(f'..._{s}.npz' for s in recorded) + '.')
    return True


def calibrate_exits(records: Sequence[str], target: str, epsilon: Optional[float] = None,
                    delta: Optional[float] = None, max_gmacs: Optional[float] = None,
                    rule: str = 'max_prob', out: str = 'results/calibration.json',
                    overwrite: bool = False, grid: int = 101) -> dict:
    """Fit one threshold per exit from records of 3 or more exits, write JSON/CSV/PNG.

    Args:
        records (Sequence[str]): Every exit's records in order (see
            :func:`load_exits`): a k-stage cascade's stages, or an ESN's
            routing steps ``..._saver.npz ..._exit1.npz ... ..._base.npz``.
        target (str): ``'drop'`` (fewest MACs with top-1 drop <= epsilon vs
            the last exit on the records, :class:`MultiExitDropCalibrator`),
            ``'gmacs'`` (best top-1 within max_gmacs per image) or
            ``'guarantee'`` (drop <= epsilon on new data with probability >=
            1 - delta, along the uniform path).
        epsilon, delta, max_gmacs: The target's parameters.
        rule (str): Exit rule whose confidence the records hold.
        out (str): JSON path; ``_path.csv`` (the uniform path) and ``.png``
            go beside it.
        overwrite (bool): Replace those files when they exist.
        grid (int): Candidate thresholds per exit (drop, gmacs).

    Returns:
        dict: ``thresholds``, ``shares`` per exit, top-1 and GMACs there,
        ``macs_saved_pct`` vs the base alone and how to use it.

    Raises:
        OutputExistsError: If an output exists and ``overwrite`` is False.
        ValueError: On a target this search does not take, a missing
            parameter, or records as :func:`load_exits` refuses.
    """
    from tinysaver_mm.core import (EXIT_OFF, MultiExitDropCalibrator,
                                   MultiExitGuaranteedDropCalibrator,
                                   MultiExitMacsBudgetCalibrator, uniform_path)
    from tinysaver_mm.utils.report import write_json
    from tinysaver_mm.visualization import plot_top1_vs_gmacs
    if target not in EXIT_TARGETS:
        raise ValueError(f'target {target!r}: with {len(records)} records (one per exit) the '
                         f'targets are {EXIT_TARGETS}.')
    need = dict(drop=dict(epsilon=epsilon), guarantee=dict(epsilon=epsilon, delta=delta),
                gmacs=dict(max_gmacs=max_gmacs))[target]
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise ValueError(f'target {target!r} needs --{missing[0].replace("_", "-")}.')
    stem = osp.splitext(out)[0]
    check_outputs([out, stem + '_path.csv', stem + '.png'], overwrite, list(records))
    d = load_exits(records, rule)
    off = d['route_steps']  # an ESN's exits may be turned off
    if target == 'drop':
        cal = MultiExitDropCalibrator(epsilon, grid=grid, allow_off=off)
    elif target == 'gmacs':
        cal = MultiExitMacsBudgetCalibrator(max_gmacs, grid=grid, allow_off=off)
    else:
        cal = MultiExitGuaranteedDropCalibrator(epsilon, delta)
    cal.fit(d['confidences'], d['corrects'], d['gmacs'])
    names, gb = d['names'], d['gmacs_base_alone']
    thresholds = [float(t) for t in cal.thresholds_]
    result = dict(
        target=target, epsilon=epsilon, delta=delta, max_gmacs=max_gmacs, rule=rule,
        records=d['metas'][0]['split'], num_samples=int(len(d['corrects'][0])),
        exits=names, thresholds=thresholds,
        exits_off=[n for n, t in zip(names, thresholds) if t > 1.0],
        shares=dict(zip(names, cal.shares_)), top1=100 * cal.accuracy_,
        last_exit_top1=100 * cal.reference_accuracy_,
        exit_top1={n: 100 * float(np.mean(c)) for n, c in zip(names, d['corrects'])},
        gmacs_exits=dict(zip(names, d['gmacs'])), gmacs_cascade=cal.macs_,
        gmacs_base_alone=gb, macs_saved_pct=macs_saved_pct(cal.macs_, gb),
        drop_ucb=getattr(cal, 'drop_ucb_', None),
        uniform_start=getattr(cal, 'uniform_', None),
        cfg_options=f'--cfg-options "model.threshold={thresholds}"',
        fingerprints={n: m.get('fingerprint') for n, m in zip(names, d['metas'])})
    write_json(result, out, indent=2)
    lams = np.linspace(1.0, 0.0, 201)
    path = uniform_path(d['confidences'], d['corrects'], d['gmacs'], lams)
    with open(stem + '_path.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['lambda', 'top1_pct', 'gmacs_cascade'] + [f'share_{n}' for n in names])
        for lam, r in zip(lams, path):
            w.writerow([f'{lam:.6g}', f'{100 * r["accuracy"]:.6g}', f'{r["macs"]:.6g}']
                       + [f'{s:.6g}' for s in r['shares']])
    plot_top1_vs_gmacs(
        {'every exit at one threshold (uniform path)': (
            [r['macs'] for r in path], [100 * r['accuracy'] for r in path])},
        {'base alone': (gb, result['exit_top1'][names[-1]]),
         f'chosen ({target}): {", ".join(f"{t:.3g}" if t <= 1 else "off" for t in thresholds)}':
             (cal.macs_, 100 * cal.accuracy_)},
        stem + '.png', f'{len(names)} exits, {result["num_samples"]} records; off = {EXIT_OFF}+',
        result['records'])
    return result
