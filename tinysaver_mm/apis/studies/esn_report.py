"""The Exit Sequence Network compared with every other router, on records.

Each method is a cascade of exits described by records (``load_exits``): its
thresholds are fitted on the holdout records for a maximum top-1 drop (the
fewest MACs, :class:`MultiExitDropCalibrator`) and applied to the test records.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from tinysaver_mm.core import (MultiExitDropCalibrator, evaluate_cascade, macs_saved_pct,
                               uniform_path)
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_json
from ..records import load_exits

__all__ = ['METHODS', 'esn_report', 'evaluator_exits', 'oracle_point']

#: the methods of ``results/esn_fashion_mnist.json``, in order
METHODS = ('base', 'plain', 'plain_evaluator', 'three_stage', 'attached_exits', 'esn', 'oracle')


def evaluator_exits(saver: str, base: str, evaluator: str, skip: int = 0) -> dict:
    """Plain TinySaver on the learned exit score: the evaluator head scores the
    saver's recorded probabilities; every image pays the head's MACs too.

    Args:
        saver, base (str): Records of the pair.
        evaluator (str): The head's checkpoint (``tools/train_evaluator.py``).
        skip (int): Leave out the first ``skip`` records (those the head was
            fitted on, when these are its own training records).

    Returns:
        dict: As :func:`load_exits`, the saver's confidence being the score.
    """
    from tinysaver_mm.models.classifiers import TinySaverClsEvaluatorHead
    from tinysaver_mm.utils import load_checkpoint_strict
    from ..exit_heads.training import head_macs
    d = load_exits([saver, base])
    probs = torch.from_numpy(np.load(saver)['probs'].astype(np.float32))
    meta = torch.load(evaluator, map_location='cpu', weights_only=False).get('meta') or {}
    head_cfg = {k: v for k, v in (meta.get('head_cfg') or {}).items() if k != 'type'}
    head = TinySaverClsEvaluatorHead(**head_cfg)
    load_checkpoint_strict(head, evaluator, 'evaluator')
    head.eval()
    with torch.no_grad():
        d['confidences'][0] = head.score(head.inputs(probs)).double().numpy()
    d['gmacs'][0] += head_macs(head) / 1e9
    for key in ('confidences', 'corrects'):
        d[key] = [a[skip:] for a in d[key]]
    return d


def oracle_point(d: dict) -> dict:
    """The oracle router of a saver/base pair: an image exits at the saver
    whenever its answer is as good as the base's (no drop at all)."""
    good = d['corrects'][0] | ~d['corrects'][-1]
    return dict(accuracy=float(d['corrects'][-1].mean()),
                macs=d['gmacs'][0] + (1 - good.mean()) * d['gmacs'][-1],
                shares=[float(good.mean()), float(1 - good.mean())])


def _row(method: str, target: float, d_test: dict, ev: dict, thresholds) -> dict:
    base_top1 = float(d_test['corrects'][-1].mean())
    return dict(method=method, target_drop_pts=100 * target,
                test_top1_drop_pts=100 * (base_top1 - ev['accuracy']),
                macs_saved_pct=macs_saved_pct(ev['macs'], d_test['gmacs_base_alone']),
                exit_shares=dict(zip(d_test['names'], ev['shares'])),
                thresholds=None if thresholds is None else [float(t) for t in thresholds],
                test_top1=100 * ev['accuracy'], gmacs_per_img=ev['macs'],
                ms_per_img_b32=None)


def _path(d: dict, lams: np.ndarray) -> tuple:
    """GMACs and top-1 % along the uniform path (every exit at one threshold)."""
    rs = uniform_path(d['confidences'], d['corrects'], d['gmacs'], lams)
    return [r['macs'] for r in rs], [100 * r['accuracy'] for r in rs]


def esn_report(holdout: Dict[str, dict], test: Dict[str, dict],
               targets: Sequence[float] = (0.001, 0.003),
               out: str = 'results/esn_fashion_mnist.json',
               timing: Optional[Dict[str, tuple]] = None, overwrite: bool = False,
               grid: int = 101) -> dict:
    """Fit every method on the holdout, report it on the test split; JSON + PNG.

    Args:
        holdout, test (dict): Method name to its exits (as :func:`load_exits`
            or :func:`evaluator_exits` return) on each split; ``base`` and
            ``oracle`` are derived from ``plain``.
        targets (Sequence[float]): Maximum top-1 drops on the holdout
            (fractions).
        out (str): JSON path; the PNG goes beside it.
        timing (dict, optional): Method name to ``(config, cfg_options_fn)``:
            each row's ``ms_per_img_b32`` is then measured with
            :func:`~tinysaver_mm.apis.benchmark.run_operating_point`
            at batch 32 on the first 1024 test images, ``cfg_options_fn``
            mapping the row's thresholds to config overrides; the base
            alone's is the median of the base timed beside each of them.
        overwrite (bool): Replace the outputs.
        grid (int): Candidate thresholds per exit.

    Returns:
        dict: ``rows`` (one per method and target, keys ``method``,
        ``target_drop_pts``, ``test_top1_drop_pts``, ``macs_saved_pct``,
        ``exit_shares``, ``ms_per_img_b32``, ...), ``base_test_top1`` and the
        goal checks.
    """
    from tinysaver_mm.visualization import plot_top1_vs_gmacs
    from ..benchmark.at_thresholds import run_operating_point
    stem = osp.splitext(out)[0]
    check_outputs([out, stem + '.png'], overwrite)
    plain = test['plain']
    rows: List[dict] = []
    for target in targets:
        rows.append(_row('base', target, plain, dict(
            accuracy=float(plain['corrects'][-1].mean()), macs=plain['gmacs_base_alone'],
            shares=[0.0, 1.0]), None))
        for method in ('plain', 'plain_evaluator', 'three_stage', 'attached_exits', 'esn'):
            if method not in holdout:
                continue
            h, t = holdout[method], test[method]
            cal = MultiExitDropCalibrator(target, grid=grid, allow_off=h['route_steps']).fit(
                h['confidences'], h['corrects'], h['gmacs'])
            ev = evaluate_cascade(t['confidences'], t['corrects'], t['gmacs'], cal.thresholds_)
            rows.append(_row(method, target, t, ev, cal.thresholds_))
        rows.append(_row('oracle', target, plain, oracle_point(plain), None))
    for row in rows:
        if timing and row['method'] in timing and row['thresholds'] is not None:
            config, options = timing[row['method']]
            r = run_operating_point(config, batch_sizes=(32, ), num_images=1024, repeats=3,
                                    out=stem + '_timing.csv',
                                    pair=f'{row["method"]}@{row["target_drop_pts"]:.1f}',
                                    cfg_options=options(row['thresholds']))[0]
            row['ms_per_img_b32'] = r['ms_per_img_cascade']
            row['ms_per_img_b32_base'] = r['ms_per_img_base']
            row['speedup_b32'] = r['speedup']
    base_ms = [r['ms_per_img_b32_base'] for r in rows if 'ms_per_img_b32_base' in r]
    for row in rows:
        if row['method'] == 'base' and base_ms:  # timed beside every method: their median
            row['ms_per_img_b32'] = float(np.median(base_ms))
    by = {(r['method'], r['target_drop_pts']): r for r in rows}
    t01 = 100 * targets[0]
    goals = {}
    if ('esn', t01) in by:
        esn, pl = by[('esn', t01)], by[('plain', t01)]
        goals = dict(
            esn_minus_plain_macs_saved_pts=esn['macs_saved_pct'] - pl['macs_saved_pct'],
            esn_saves_10_points_more_than_plain=bool(
                esn['macs_saved_pct'] - pl['macs_saved_pct'] >= 10.0),
            esn_drop_within_target=bool(esn['test_top1_drop_pts'] <= t01 + 1e-9))
        if ('attached_exits', t01) in by:
            at = by[('attached_exits', t01)]
            goals['esn_beats_attached_exits'] = bool(
                esn['macs_saved_pct'] > at['macs_saved_pct']
                and esn['test_top1_drop_pts'] <= at['test_top1_drop_pts'] + 1e-9)
    result = dict(split_fit='holdout', split_report='test', targets_drop_pts=[
        100 * t for t in targets], base_test_top1=100 * float(plain['corrects'][-1].mean()),
        gmacs_base_alone=plain['gmacs_base_alone'], rows=rows, goals=goals,
        method_records={m: d['names'] for m, d in test.items()})
    write_json(result, out)
    lams = np.linspace(1, 0, 201)
    curves = {m: _path(test[m], lams) for m in ('plain', 'plain_evaluator', 'three_stage',
                                                'attached_exits', 'esn') if m in test}
    points = {f'{r["method"]} (fit {t01:.1f} pt)': (r['gmacs_per_img'], r['test_top1'])
              for r in rows if r['target_drop_pts'] == t01}
    plot_top1_vs_gmacs({f'{m} (one threshold for every exit)' if len(test[m]['names']) > 2
                        else m: c for m, c in curves.items()}, points, stem + '.png',
                       'Fashion-MNIST test split; thresholds fitted on the holdout', 'test')
    return result
