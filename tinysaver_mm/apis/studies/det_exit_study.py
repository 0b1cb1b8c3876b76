"""Which exit signal and training target save the most base MACs of a detection cascade.

Every policy is fitted on holdout records (and optionally training-split
records), its threshold calibrated on the holdout's calibration half for
each allowed mAP drop, and reported on the val records with that threshold
("holdout-fitted", the honest figure) and with the best threshold for val
(an upper bound: a threshold tuned on val is not a result). The oracles (per
image AP gain, ORIC) show what a perfect signal of each kind would save.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from tinysaver_mm.core import (ORIC_CONTEXT_SIZE, ORIC_NUM_DRAWS, MapDropCalibrator,
                               quality_gap)
from tinysaver_mm.evaluation.functional import (CocoEntries, cascade_map_curve, policy_scores,
                                                routed_figures)
from tinysaver_mm.utils.report import write_json
from ..exit_heads.det_targets import TARGET_DOCS, exit_targets, fit_det_head, oric_of
from ..exit_heads.training import head_macs
from ..records.det_records import check_det_aligned, instances_of, load_det_records

__all__ = ['det_exit_study', 'study_table', 'STUDY_POLICIES']

# name: (head, target, fitting records, flipped view, weight decay). Weight decay 0.1 (the
# shipped head's) except the +train heads, 0.01: on 3,500 fitting images it gave the ORIC
# target's head a higher Spearman with -ORIC on the holdout's calibration half (0.345 vs
# 0.329) and the binary target's a higher one with -gain (0.303 vs 0.257; with -ORIC lower,
# 0.236 vs 0.303); on the holdout's 500 alone 0.1 was best for every head. Figures:
# tools/analysis_tools/det_head_selection.py (holdout only; val played no part).
STUDY_POLICIES = {
    'head_binary': ('mlp', 'binary', 'holdout', False, 0.1),
    'head_oric': ('mlp', 'oric', 'holdout', False, 0.1),
    'set_binary': ('set', 'binary', 'holdout', False, 0.1),
    'set_oric': ('set', 'oric', 'holdout', False, 0.1),
    'head_binary+train': ('mlp', 'binary', 'holdout+train', False, 0.01),
    'head_oric+train': ('mlp', 'oric', 'holdout+train', False, 0.01),
    'set_binary+train': ('set', 'binary', 'holdout+train', False, 0.01),
    'set_oric+train': ('set', 'oric', 'holdout+train', False, 0.01),
    'set_binary+flip': ('set', 'binary', 'holdout', True, 0.1),
    'set_oric+flip': ('set', 'oric', 'holdout', True, 0.1),
}


class _Part:
    """One set of records (a slice of a file): detections, COCO entries, targets."""

    def __init__(self, name: str, rec: dict, sl: slice, flip: Optional[dict] = None,
                 coco=None):
        meta = rec['meta']
        self.name, self.ids = name, rec['img_ids'][sl]
        self.source = osp.splitext(osp.basename(rec.get('path', 'records')))[0]
        self.shapes = rec['ori_shapes'][sl].tolist()
        self.saver_inst, self.base_inst = instances_of(rec, 'saver')[sl], \
            instances_of(rec, 'base')[sl]
        self.flip_inst = None
        if flip is not None:
            if not np.array_equal(flip['img_ids'], rec['img_ids']):
                raise ValueError(f'The flipped-view records of {name} cover other images than '
                                 'its records: record both from the same config and split.')
            self.flip_inst = instances_of(flip, 'saver')[sl]
        self.saver = CocoEntries(meta['ann_file'], self.ids, self.saver_inst, meta['classes'],
                                 coco=coco)
        self.base = CocoEntries(meta['ann_file'], self.ids, self.base_inst, meta['classes'],
                                coco=self.saver.coco)
        self.gap = quality_gap(self.saver.image_ap(), self.base.image_ap())
        self.macs = {r: rec[f'macs_{r}'][sl].astype(np.float64) for r in ('saver', 'base')}
        self.empty = np.array([len(p.scores) == 0 for p in self.saver_inst])
        self.oric = None

    def with_oric(self, context: int, draws: int, cache: Optional[str] = None) -> '_Part':
        """Compute (or reuse from ``cache``, keyed by the images and settings) ORIC."""
        path = None
        if cache:
            os.makedirs(cache, exist_ok=True)
            path = osp.join(cache, f'oric_{self.source}_{self.name}_c{context}_d{draws}.npz')
            if osp.exists(path):
                got = np.load(path)
                if np.array_equal(got['img_ids'], self.ids):
                    self.oric = got['oric']
                    return self
        self.oric = oric_of(self.saver, self.base, context, draws)
        if path:
            np.savez(path, img_ids=self.ids, oric=self.oric)
        return self

    def summary(self) -> dict:
        return dict(num_images=len(self.ids), saver_map=self.saver.map(),
                    base_map=self.base.map(), mean_gap=float(self.gap.mean()),
                    binary_target_share=float((self.gap <= 0.1).mean()),
                    mean_oric=None if self.oric is None else float(self.oric.mean()),
                    images_without_saver_detections=int(self.empty.sum()))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr
    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).correlation)


def _deployed(score: np.ndarray, part: _Part) -> np.ndarray:
    """Scores as the cascade routes: an image without saver detections never exits."""
    return np.where(part.empty, -np.inf, np.asarray(score, dtype=np.float64))


def _build_head(kind: str, target: str, num_classes: int, flip: bool):
    from tinysaver_mm.models.detectors import TinySaverEvaluatorHead, TinySaverSetEvaluatorHead
    if kind == 'mlp':
        return TinySaverEvaluatorHead(num_classes, 10, 0, 32, target=target)
    return TinySaverSetEvaluatorHead(num_classes, 10, 20, 32, 32, flip=flip, target=target)


def _inputs(head, part: _Part) -> torch.Tensor:
    if getattr(head, 'flip', False):
        return head.inputs(part.saver_inst, part.shapes, flip_instances=part.flip_inst)
    return head.inputs(part.saver_inst, part.shapes)


def _policy_rows(name: str, cal: _Part, val: _Part, s_cal: np.ndarray, s_val: np.ndarray,
                 macs_cal: dict, macs_val: dict, pays: bool, max_drops: Sequence[float],
                 base_cal: float, base_val: float) -> dict:
    curve_cal = cascade_map_curve(cal.saver, cal.base, _deployed(s_cal, cal), macs_cal, pays)
    curve_val = cascade_map_curve(val.saver, val.base, _deployed(s_val, val), macs_val, pays)
    out = dict(curve_val=curve_val, at={})
    for d in max_drops:
        fitted = MapDropCalibrator(d).fit(curve_cal, base_cal).row_
        honest = routed_figures(val.saver, val.base, _deployed(s_val, val),
                                fitted['threshold'], macs_val, pays)
        best = MapDropCalibrator(d).fit(curve_val, base_val).row_
        out['at'][str(d)] = dict(
            holdout_threshold=fitted['threshold'],
            holdout_calib=dict(exit_ratio=fitted['exit_ratio'],
                               macs_saved_pct=fitted['macs_saved_pct'],
                               map_drop=base_cal - fitted['map']),
            val_holdout_fitted=dict(honest, map_drop=base_val - honest['map'],
                                    within_drop=bool(base_val - honest['map'] <= d + 1e-12)),
            val_best_threshold=dict(best, map_drop=base_val - best['map']))
    return out


def det_exit_study(holdout: str, val: str, out: str, train: Optional[str] = None,
                   flip_holdout: Optional[str] = None, flip_val: Optional[str] = None,
                   shipped: Optional[str] = None, max_drops: Sequence[float] = (0.005, 0.01),
                   calib_fraction: float = 0.5, oric_context: int = ORIC_CONTEXT_SIZE,
                   oric_draws: int = ORIC_NUM_DRAWS, steps: int = 300, seed: int = 0,
                   policies: Optional[Sequence[str]] = None, overwrite: bool = False,
                   oric_cache: Optional[str] = None, extend: bool = False,
                   log=print) -> dict:
    """Compare detection exit policies on val, each fitted and calibrated on holdout.

    Args:
        holdout (str): Holdout records (``tools/record.py CFG --split holdout``):
            the first ``1 - calib_fraction`` fit the heads, the rest calibrate.
        val (str): Val records (the reported figures).
        out (str): Summary JSON to write (a PNG of the val curves beside it).
        train (str, optional): Training-split records (with the recording
            augmentation) added to the heads' fitting data (``+train`` policies).
        flip_holdout, flip_val (str, optional): The saver's records on the
            flipped images (``+flip`` policies; the flipped pass is paid).
        shipped (str, optional): The shipped evaluator checkpoint ("today's
            head"), scored as it is.
        max_drops (Sequence[float]): mAP drops reported (0.01 = 1 point).
        calib_fraction (float): Share of the holdout calibrating thresholds.
        oric_context, oric_draws (int): ORIC context size and draws.
        steps, seed: Head fitting settings (weight decay: per policy).
        policies (Sequence[str], optional): Names of :data:`STUDY_POLICIES`
            to run (default: every one whose records are given).
        overwrite (bool): Replace ``out`` and its PNG.
        oric_cache (str, optional): Folder keeping each part's ORIC (reused
            when the same records, images and settings come again).
        extend (bool): ``out`` is an existing ``tools/train_evaluator.py``
            summary of the same holdout records: the study is added to it
            under ``'study'`` (its other keys kept; needs ``overwrite``), and
            the PNG is ``<out>_study.png``.
        log (Callable): Progress messages.

    Returns:
        dict: The summary written to ``out``.

    Raises:
        ValueError: On records of other savers, an unknown policy, or see
            the calibrators.
        OutputExistsError: If ``out`` or its PNG exists and ``overwrite`` is
            False.
    """
    from tinysaver_mm.utils import check_outputs, load_checkpoint_strict
    png = osp.splitext(out)[0] + ('_study.png' if extend else '.png')
    check_outputs([out, png], overwrite, [holdout, val, train, flip_holdout, flip_val, shipped])
    base_summary = {}
    if extend:
        if not osp.isfile(out):
            raise FileNotFoundError(f'extend=True adds the study to {out!r}, which does not '
                                    'exist: run tools/train_evaluator.py --results first.')
        with open(out) as f:
            base_summary = json.load(f)
        if osp.abspath(base_summary.get('records', '')) != osp.abspath(holdout):
            raise ValueError(f'{out!r} summarises {base_summary.get("records")!r}, not the '
                             f'holdout records {holdout!r}: extend the summary of the same '
                             'records.')
    recs = {'holdout': load_det_records(holdout), 'val': load_det_records(val)}
    if train:
        recs['train'] = load_det_records(train)
    for path, rec in ((holdout, recs['holdout']), (val, recs['val']), (train, recs.get('train'))):
        if rec is not None:
            rec['path'] = path
    flips = {k: load_det_records(p) for k, p in (('holdout', flip_holdout), ('val', flip_val))
             if p}
    for k, r in list(recs.items()) + [(f'flipped {k}', r) for k, r in flips.items()]:
        check_det_aligned(recs['holdout'], r, f'holdout and {k} records')
    num_classes = recs['holdout']['meta']['num_classes']
    n = len(recs['holdout']['img_ids'])
    n_fit = int(round(n * (1 - calib_fraction)))
    has_flip = set(flips) == {'holdout', 'val'}
    fit = _Part('holdout_fit', recs['holdout'], slice(0, n_fit), flips.get('holdout'))
    cal = _Part('holdout_calib', recs['holdout'], slice(n_fit, n), flips.get('holdout'),
                coco=fit.saver.coco)
    vp = _Part('val', recs['val'], slice(0, None), flips.get('val'))
    parts = [fit, cal, vp]
    if train:
        tp = _Part('train', recs['train'], slice(0, None))
        parts.append(tp)
    for p in parts:
        log(f'ORIC of {p.name} ({len(p.ids)} images, context {oric_context}, '
            f'{oric_draws} draws)')
        p.with_oric(oric_context, oric_draws, oric_cache)
    wanted = list(policies or [k for k, v in STUDY_POLICIES.items()
                               if ('train' not in v[2] or train) and (not v[3] or has_flip)])
    unknown = sorted(set(wanted) - set(STUDY_POLICIES))
    if unknown:
        raise ValueError(f'Unknown policies {unknown}; choose from {sorted(STUDY_POLICIES)}.')
    base_cal, base_val = cal.base.map(), vp.base.map()
    macs_of = {p.name: dict(p.macs, evaluator=np.zeros(len(p.ids))) for p in (cal, vp)}
    scores: Dict[str, tuple] = {}
    simple_cal = policy_scores(cal.saver_inst)
    simple_val = policy_scores(vp.saver_inst)
    for k in ('max_score', 'mean_topk'):
        scores[k] = (simple_cal[k], simple_val[k], 0, False)
    heads = {}
    if shipped:
        from tinysaver_mm.models.detectors import TinySaverEvaluatorHead
        meta = torch.load(shipped, map_location='cpu', weights_only=False)['meta']
        cfg = {k: v for k, v in meta['head_cfg'].items() if k != 'type'}
        head = TinySaverEvaluatorHead(**cfg)
        load_checkpoint_strict(head, shipped)
        scores['head_today'] = (head.score(_inputs(head, cal)).numpy(),
                                head.score(_inputs(head, vp)).numpy(), head_macs(head), False)
    for name in wanted:
        kind, target, data, flip, wd = STUDY_POLICIES[name]
        head = _build_head(kind, target, num_classes, flip)
        fit_parts = [fit] + ([tp] if 'train' in data else [])
        x = torch.cat([_inputs(head, p) for p in fit_parts])
        y = torch.from_numpy(np.concatenate([exit_targets(target, p.saver, p.base, 0.1, p.oric)
                                             for p in fit_parts]))
        log(f'fit {name}: {kind} head, {target} target, {len(x)} images')
        fit_det_head(head, x, y, steps=steps, weight_decay=wd, seed=seed)
        heads[name] = head
        scores[name] = (head.score(_inputs(head, cal)).numpy(),
                        head.score(_inputs(head, vp)).numpy(), head_macs(head), flip)
    rows: Dict[str, dict] = {}
    signal: Dict[str, dict] = {}
    for name, (s_cal, s_val, ev_macs, flip) in scores.items():
        extra = {p: ev_macs + (macs_of[p]['saver'] if flip else 0) for p in macs_of}
        mc = {p: dict(macs_of[p], evaluator=np.broadcast_to(
            np.asarray(extra[p], dtype=np.float64), macs_of[p]['saver'].shape).copy())
            for p in macs_of}
        pays = name not in ('max_score', 'mean_topk')
        rows[name] = _policy_rows(name, cal, vp, s_cal, s_val, mc['holdout_calib'], mc['val'],
                                  pays, max_drops, base_cal, base_val)
        rows[name]['evaluator_gmacs'] = float(mc['val']['evaluator'][0]) / 1e9 if pays else 0.0
        signal[name] = dict(
            holdout_calib=dict(spearman_neg_oric=_spearman(s_cal, -cal.oric),
                               spearman_neg_gain=_spearman(s_cal, -cal.gap)),
            val=dict(spearman_neg_oric=_spearman(s_val, -vp.oric),
                     spearman_neg_gain=_spearman(s_val, -vp.gap)))
        log(f'{name}: ' + ', '.join(
            f"drop {d}: val {r['val_holdout_fitted']['macs_saved_pct']:.1f}% "
            f"(drop {r['val_holdout_fitted']['map_drop']:.4f}), best {r['val_best_threshold']['macs_saved_pct']:.1f}%"
            for d, r in rows[name]['at'].items()))
    zero = {p: dict(macs_of[p]) for p in macs_of}
    for name, (oc, ov) in {'oracle_gain': (-cal.gap, -vp.gap),
                           'oracle_oric': (-cal.oric, -vp.oric)}.items():
        rows[name] = _policy_rows(name, cal, vp, oc, ov, zero['holdout_calib'], zero['val'],
                                  False, max_drops, base_cal, base_val)
        rows[name]['evaluator_gmacs'] = 0.0
    # the flipped view's own worth, as one number per image (score-weighted agreement)
    if has_flip:
        for p in (cal, vp):
            p.flip_agree = _flip_agreement(p, num_classes)
        signal['flip_agreement'] = dict(
            holdout_calib=dict(spearman_neg_oric=_spearman(cal.flip_agree, -cal.oric),
                               spearman_neg_gain=_spearman(cal.flip_agree, -cal.gap)),
            val=dict(spearman_neg_oric=_spearman(vp.flip_agree, -vp.oric),
                     spearman_neg_gain=_spearman(vp.flip_agree, -vp.gap)))
    signal['oric_vs_gain'] = dict(holdout_calib=_spearman(cal.oric, cal.gap),
                                  val=_spearman(vp.oric, vp.gap))
    summary = dict(
        records=dict(holdout=holdout, val=val, train=train, flip_holdout=flip_holdout,
                     flip_val=flip_val, shipped_head=shipped),
        split=dict(holdout_fit=n_fit, holdout_calib=n - n_fit, val=len(vp.ids)),
        targets=TARGET_DOCS, binary_tolerance=0.1,
        oric=dict(context_size=oric_context, num_draws=oric_draws, seed=0),
        fit=dict(steps=steps, seed=seed),
        policies_fitted={k: dict(zip(('head', 'target', 'fit_records', 'flip', 'weight_decay'),
                                     STUDY_POLICIES[k])) for k in wanted},
        parts={p.name: p.summary() for p in parts},
        gmacs=dict(saver=float(vp.macs['saver'].mean()) / 1e9,
                   base=float(vp.macs['base'].mean()) / 1e9),
        base_map=dict(holdout_calib=base_cal, val=base_val),
        max_drops=list(max_drops), signal=signal,
        study={k: {kk: vv for kk, vv in v.items() if kk != 'curve_val'} for k, v in rows.items()})
    write_json(dict(base_summary, study=summary) if extend else summary, out)
    _plot(rows, vp, summary, png)
    return summary


def _flip_agreement(part: _Part, num_classes: int) -> np.ndarray:
    """Score-weighted mean best same-class IoU of the saver's boxes with its flipped view."""
    from tinysaver_mm.core import pairwise_iou
    out = np.zeros(len(part.ids))
    for i, (p, q) in enumerate(zip(part.saver_inst, part.flip_inst)):
        if len(p.scores) == 0 or len(q.scores) == 0:
            continue
        iou = pairwise_iou(p.bboxes.float(), q.bboxes.float()) * \
            (p.labels[:, None] == q.labels[None, :])
        w = p.scores.float()
        out[i] = float((iou.max(dim=1).values * w).sum() / w.sum().clamp(min=1e-6))
    return out


def _plot(rows: Dict[str, dict], vp: _Part, summary: dict, path: str) -> None:
    from tinysaver_mm.visualization import plot_policy_curves
    marks = {k: v['at'][str(summary['max_drops'][-1])]['val_holdout_fitted']
             for k, v in rows.items()}
    plot_policy_curves({k: v['curve_val'] for k, v in rows.items()}, vp.saver.map(),
                       vp.base.map(), summary['gmacs']['saver'], summary['gmacs']['base'],
                       path, f'val records; dots: holdout-fitted thresholds at max drop '
                       f'{summary["max_drops"][-1]}', marks=marks)


def study_table(study: dict) -> str:
    """The study's val figures as a markdown table (one row per policy).

    Args:
        study (dict): :func:`det_exit_study`'s summary (or the ``'study'``
            key of an extended ``train_evaluator`` summary).

    Returns:
        str: Markdown: per allowed drop, the holdout-fitted threshold's MACs
        saved / mAP drop on val (marked when over the drop) and the best val
        threshold's MACs saved; the Spearman of the policy's score with
        -ORIC and -gain on the holdout's calibration half.
    """
    drops = [str(d) for d in study['max_drops']]
    head = ['policy'] + [f'≤ {float(d) * 100:g} pt: holdout-fitted (val saved / drop)'
                         for d in drops] + [f'≤ {float(d) * 100:g} pt: best val threshold'
                                            for d in drops] + ['ρ(−ORIC), ρ(−gain), holdout']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for name, row in study['study'].items():
        cells = [f'`{name}`']
        for d in drops:
            h = row['at'][d]['val_holdout_fitted']
            over = '' if h['within_drop'] else ' (over)'
            cells.append(f"{h['macs_saved_pct']:.1f} % / {100 * h['map_drop']:.2f}{over}")
        for d in drops:
            cells.append(f"{row['at'][d]['val_best_threshold']['macs_saved_pct']:.1f} %")
        sig = study['signal'].get(name, {}).get('holdout_calib')
        cells.append('—' if sig is None else
                     f"{sig['spearman_neg_oric']:.3f}, {sig['spearman_neg_gain']:.3f}")
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
