"""Train a detection cascade's evaluator head from records and calibrate its threshold."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import ORIC_CONTEXT_SIZE, ORIC_NUM_DRAWS, MapDropCalibrator, quality_gap
from tinysaver_mm.core import exit_target as exit_target_of_gap
from tinysaver_mm.evaluation.functional import CocoEntries, cascade_map_curve, policy_scores
from .det_exit_targets import TARGET_DOCS, exit_targets, fit_det_head, oric_of
from .det_records import check_det_aligned, instances_of, load_det_records
from .exit_head_training import (calibrate_policies, check_head_request, fit_head,
                                 fit_size, gmacs_of, head_macs, roc_auc, save_exit_head,
                                 write_head_summary)

__all__ = ['train_evaluator']

TARGET_DOC = TARGET_DOCS['binary']
TARGETS = ('binary', 'oric', 'auto')
HEADS = {'mlp': 'TinySaverEvaluatorHead', 'set': 'TinySaverSetEvaluatorHead'}


def train_evaluator(records: str, out: str, max_drop: float = 0.01,
                    calib_fraction: float = 0.5, use_features: bool = False,
                    tolerance: float = 0.1, topk: int = 10, hidden: int = 32,
                    steps: int = 300, weight_decay: float = 0.1, seed: int = 0,
                    mean_topk: int = 5, results: Optional[str] = None,
                    overwrite: bool = False, target: str = 'binary', head_type: str = 'mlp',
                    extra_records: Optional[str] = None,
                    oric_context: int = ORIC_CONTEXT_SIZE,
                    oric_draws: int = ORIC_NUM_DRAWS) -> Dict:
    """Train the evaluator head on one split's records and calibrate thresholds.

    The records (``tools/record.py --det`` on images the detectors did not
    train on) are split in order: the first ``1 - calib_fraction`` fit the
    head, the rest calibrate, for every policy (the head, ``max_score``,
    ``mean_topk`` and the ``oracle`` that knows the per-image gap), the
    threshold saving the most MACs with a box-mAP drop of at most
    ``max_drop`` on those images.

    Args:
        records (str): Detection records (``.npz``).
        out (str): Evaluator checkpoint to write (weights + meta).
        max_drop (float): Allowed mAP drop (0.01 = 1 point of AP@[.5:.95]).
        calib_fraction (float): Share of the records kept for calibration.
        use_features (bool): Feed the saver's pooled neck features too (off
            by default: on the Fashion-MNIST detection set they did not help;
            see README).
        tolerance (float): Per-image AP the saver may lose and still count as
            good as the base (see :func:`tinysaver_mm.core.exit_target`).
        topk (int): Detections the head describes one by one.
        hidden (int): Hidden width of the head.
        steps (int): Training steps.
        weight_decay (float): Adam weight decay (the per-image target is noisy:
            a small head, strongly regularised, generalises best).
        seed (int): Random seed.
        mean_topk (int): ``k`` of the ``mean_topk`` policy.
        results (str, optional): Also write the summary here (JSON) and the
            policies' mAP-GMACs curves next to it (PNG).
        overwrite (bool): Replace ``out``/``results`` (and its PNG) when
            they exist.
        target (str): Training target: ``'binary'`` (per-image AP within
            ``tolerance``), ``'oric'`` (ORIC quantile, see
            :mod:`~tinysaver_mm.apis.det_exit_targets`) or ``'auto'``: both
            fitted, the one saving more MACs on the calibration half (at
            ``max_drop``) kept; the head stores its target.
        head_type (str): ``'mlp'`` (image-level features,
            ``TinySaverEvaluatorHead``) or ``'set'`` (a set encoder over the
            saver's boxes, ``TinySaverSetEvaluatorHead``).
        extra_records (str, optional): More records fitting the head (e.g.
            the training split's, ``tools/record_det_views.py --split train
            --flip random``); thresholds are still calibrated on the
            calibration half of ``records`` only.
        oric_context, oric_draws (int): ORIC context size and draws.

    Returns:
        dict: Summary: fit/calibration sizes, AUC of the head, and per policy
        the calibrated threshold and its figures on the calibration images.

    Raises:
        ValueError: On a bad ``calib_fraction``/``max_drop``, too few records,
            an output that is the records file, an unknown target or head,
            extra records of another saver, or an ORIC context larger than
            the fitting records.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    from tinysaver_mm.models.detectors import TinySaverEvaluatorHead, TinySaverSetEvaluatorHead
    if target not in TARGETS or head_type not in HEADS:
        raise ValueError(f'target={target!r} / head_type={head_type!r}: choose a target of '
                         f'{TARGETS} and a head of {sorted(HEADS)}.')
    if head_type == 'set' and use_features:
        raise ValueError("head_type='set' reads no pooled features; drop use_features.")
    check_head_request(records, out, results, overwrite, calib_fraction)
    calibrator = MapDropCalibrator(max_drop)  # refuses max_drop outside [0, 1]
    rec = load_det_records(records)
    meta = rec['meta']
    n = len(rec['img_ids'])
    n_fit = fit_size(n, calib_fraction)
    saver_inst, base_inst = instances_of(rec, 'saver'), instances_of(rec, 'base')
    feats = torch.from_numpy(rec['saver_feats']) if use_features else None
    targets = ('binary', 'oric') if target == 'auto' else (target, )

    def new_head(t: str):
        if head_type == 'set':
            return TinySaverSetEvaluatorHead(meta['num_classes'], topk,
                                             hidden_channels=hidden, target=t)
        return TinySaverEvaluatorHead(meta['num_classes'], topk,
                                      feats.shape[1] if use_features else 0, hidden, target=t)

    x = new_head('binary').inputs(saver_inst, rec['ori_shapes'].tolist(), feats)
    parts = {'fit': slice(0, n_fit), 'calib': slice(n_fit, n)}
    entries, gaps = {}, {}
    for name, sl in parts.items():
        ids = rec['img_ids'][sl]
        s = CocoEntries(meta['ann_file'], ids, saver_inst[sl], meta['classes'])
        b = CocoEntries(meta['ann_file'], ids, base_inst[sl], meta['classes'], coco=s.coco)
        entries[name] = (s, b)
        gaps[name] = quality_gap(s.image_ap(), b.image_ap())
    fit_sets = [(x[parts['fit']], *entries['fit'])]
    if extra_records:
        extra = load_det_records(extra_records)
        check_det_aligned(rec, extra, 'records and extra records')
        if use_features:
            raise ValueError('extra_records with use_features: fit on detections only.')
        e_inst = instances_of(extra, 'saver')
        es = CocoEntries(extra['meta']['ann_file'], extra['img_ids'], e_inst, meta['classes'])
        eb = CocoEntries(extra['meta']['ann_file'], extra['img_ids'], instances_of(extra, 'base'),
                         meta['classes'], coco=es.coco)
        fit_sets.append((new_head('binary').inputs(e_inst, extra['ori_shapes'].tolist()), es, eb))
    orics = [oric_of(s_, b_, oric_context, oric_draws) if 'oric' in targets else None
             for _, s_, b_ in fit_sets]
    cal = parts['calib']
    s, b = entries['calib']
    macs = {r: rec[f'macs_{r}'][cal].astype(np.float64) for r in ('saver', 'base')}
    base_map = b.map()
    fitted = {}
    for t in targets:  # each target's head, calibrated on the calibration half
        head = new_head(t)
        y_t = torch.from_numpy(np.concatenate([exit_targets(t, s_, b_, tolerance, o)
                                               for (_, s_, b_), o in zip(fit_sets, orics)]))
        losses = fit_det_head(head, torch.cat([f[0] for f in fit_sets]), y_t, steps=steps,
                              weight_decay=weight_decay, seed=seed)
        head.set_trained_for(bytes.fromhex(meta['saver_fingerprint']))
        scores = head.score(x).numpy()
        macs['evaluator'] = np.full(n - n_fit, head_macs(head), dtype=np.float64)
        policies = policy_scores(saver_inst[cal], gaps['calib'], scores[cal], mean_topk)
        rows = calibrate_policies(
            policies, lambda score, pays: cascade_map_curve(s, b, score, macs,
                                                            with_evaluator=pays),
            calibrator, base_map)
        fitted[t] = (head, y_t, losses, policies, rows, dict(macs))
    choice = {t: fitted[t][4]['evaluator']['macs_saved_pct'] for t in targets}
    target = max(targets, key=lambda t: (choice[t], t == 'binary'))  # ties: the simpler one
    head, y, losses, policies, rows, macs = fitted[target]
    y_cal = exit_target_of_gap(gaps['calib'], tolerance)
    summary = dict(
        records=records, target=TARGET_DOCS[target], exit_target=target,
        target_choice=dict(requested=targets, calib_macs_saved_pct=choice),
        tolerance=tolerance, max_drop=max_drop, extra_records=extra_records,
        num_fit_extra=sum(len(f[0]) for f in fit_sets[1:]),
        oric=dict(context_size=oric_context, num_draws=oric_draws) if 'oric' in targets else None,
        use_features=use_features, hidden=hidden, steps=steps, weight_decay=weight_decay,
        num_fit=n_fit, num_calib=n - n_fit,
        exit_target_share_fit=float(y.mean()), final_loss=float(losses[-1]),
        auc_calib={k: roc_auc(y_cal, v) for k, v in policies.items()},
        saver_map_calib=s.map(), base_map_calib=base_map,
        gmacs=gmacs_of(macs), policies=rows)
    head_cfg = dict(type=HEADS[head_type], num_classes=head.num_classes, topk=head.topk,
                    hidden_channels=hidden, target=target)
    if head_type == 'mlp':
        head_cfg['feat_channels'] = head.feat_channels
    save_exit_head(out, head, dict(head_cfg=head_cfg, saver_fingerprint=meta['saver_fingerprint'],
                                   threshold=rows['evaluator']['threshold'],
                                   records=records, target=TARGET_DOCS[target],
                                   exit_target=target, tolerance=tolerance))
    summary['checkpoint'], summary['head_cfg'] = out, head_cfg
    write_head_summary(summary, results, rows, summary['saver_map_calib'], base_map, records,
                       max_drop)
    return summary
