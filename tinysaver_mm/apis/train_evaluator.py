"""Train a detection cascade's evaluator head from records and calibrate its threshold."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import MapDropCalibrator, exit_target, quality_gap
from tinysaver_mm.evaluation.functional import CocoEntries, cascade_map_curve, policy_scores
from .det_records import instances_of, load_det_records
from .exit_head_training import (calibrate_policies, check_head_request, fit_head,
                                 fit_size, gmacs_of, head_macs, roc_auc, save_exit_head,
                                 write_head_summary)

__all__ = ['train_evaluator']

TARGET_DOC = ('exit target = 1 where the saver\'s per-image COCO AP (IoU .50:.95, the '
              'image evaluated alone) is at least the base\'s minus the tolerance')


def train_evaluator(records: str, out: str, max_drop: float = 0.01,
                    calib_fraction: float = 0.5, use_features: bool = False,
                    tolerance: float = 0.1, topk: int = 10, hidden: int = 32,
                    steps: int = 300, weight_decay: float = 0.1, seed: int = 0,
                    mean_topk: int = 5, results: Optional[str] = None,
                    overwrite: bool = False) -> Dict:
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
            see docs/en/user_guides/detection.md).
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

    Returns:
        dict: Summary: fit/calibration sizes, AUC of the head, and per policy
        the calibrated threshold and its figures on the calibration images.

    Raises:
        ValueError: On a bad ``calib_fraction``/``max_drop``, too few records,
            or an output that is the records file.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    from tinysaver_mm.models.detectors import TinySaverEvaluatorHead
    check_head_request(records, out, results, overwrite, calib_fraction)
    calibrator = MapDropCalibrator(max_drop)  # refuses max_drop outside [0, 1]
    rec = load_det_records(records)
    meta = rec['meta']
    n = len(rec['img_ids'])
    n_fit = fit_size(n, calib_fraction)
    saver_inst, base_inst = instances_of(rec, 'saver'), instances_of(rec, 'base')
    feats = torch.from_numpy(rec['saver_feats']) if use_features else None
    head = TinySaverEvaluatorHead(meta['num_classes'], topk,
                                  feats.shape[1] if use_features else 0, hidden)
    x = head.inputs(saver_inst, rec['ori_shapes'].tolist(), feats)
    parts = {'fit': slice(0, n_fit), 'calib': slice(n_fit, n)}
    entries, gaps = {}, {}
    for name, sl in parts.items():
        ids = rec['img_ids'][sl]
        s = CocoEntries(meta['ann_file'], ids, saver_inst[sl], meta['classes'])
        b = CocoEntries(meta['ann_file'], ids, base_inst[sl], meta['classes'], coco=s.coco)
        entries[name] = (s, b)
        gaps[name] = quality_gap(s.image_ap(), b.image_ap())
    y = torch.from_numpy(exit_target(gaps['fit'], tolerance))
    losses = fit_head(head, x[parts['fit']], y, steps=steps, weight_decay=weight_decay,
                      seed=seed)
    head.set_trained_for(bytes.fromhex(meta['saver_fingerprint']))
    scores = head.score(x).numpy()
    cal = parts['calib']
    s, b = entries['calib']
    macs = {r: rec[f'macs_{r}'][cal].astype(np.float64) for r in ('saver', 'base')}
    macs['evaluator'] = np.full(n - n_fit, head_macs(head), dtype=np.float64)
    base_map = b.map()
    policies = policy_scores(saver_inst[cal], gaps['calib'], scores[cal], mean_topk)
    rows = calibrate_policies(
        policies, lambda score, pays: cascade_map_curve(s, b, score, macs, with_evaluator=pays),
        calibrator, base_map)
    y_cal = exit_target(gaps['calib'], tolerance)
    summary = dict(
        records=records, target=TARGET_DOC, tolerance=tolerance, max_drop=max_drop,
        use_features=use_features, hidden=hidden, steps=steps, weight_decay=weight_decay,
        num_fit=n_fit, num_calib=n - n_fit,
        exit_target_share_fit=float(y.mean()), final_loss=float(losses[-1]),
        auc_calib={k: roc_auc(y_cal, v) for k, v in policies.items()},
        saver_map_calib=s.map(), base_map_calib=base_map,
        gmacs=gmacs_of(macs), policies=rows)
    head_cfg = dict(type='TinySaverEvaluatorHead', num_classes=head.num_classes,
                    topk=head.topk, feat_channels=head.feat_channels, hidden_channels=hidden)
    save_exit_head(out, head, dict(head_cfg=head_cfg, saver_fingerprint=meta['saver_fingerprint'],
                                   threshold=rows['evaluator']['threshold'],
                                   records=records, target=TARGET_DOC, tolerance=tolerance))
    summary['checkpoint'], summary['head_cfg'] = out, head_cfg
    write_head_summary(summary, results, rows, summary['saver_map_calib'], base_map, records,
                       max_drop)
    return summary
