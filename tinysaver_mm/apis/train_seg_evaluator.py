"""Train a segmentation cascade's evaluator head from records; compare exit policies."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import MIoUDropCalibrator, exit_target
from tinysaver_mm.evaluation.functional import areas_miou, cascade_miou_curve, image_iou_gap
from .exit_head_training import (calibrate_policies, check_head_request, fit_head,
                                 fit_size, gmacs_of, head_macs, roc_auc, save_exit_head,
                                 write_head_summary)
from .seg_records import load_seg_records

__all__ = ['train_seg_evaluator', 'seg_policy_scores', 'SEG_TARGET_DOC']

SEG_TARGET_DOC = ("exit target = 1 where the base's per-image IoU gain over the saver, "
                  'averaged over the classes labelled in the image (255 left out), is at '
                  'most the tolerance')


def seg_policy_scores(rec: dict, rows: slice, evaluator_scores: Optional[np.ndarray] = None
                      ) -> Dict[str, np.ndarray]:
    """Exit score per image of every policy compared, on ``rows`` of the records.

    The confidence rules are the records' ``conf_<rule>``; ``evaluator`` the
    learned head's scores; ``oracle`` knows the per-image IoU gap
    (``(1 - gap) / 2``).
    """
    out = {rule: rec[f'conf_{rule}'][rows].astype(np.float64) for rule in rec['meta']['rules']}
    if evaluator_scores is not None:
        out['evaluator'] = np.asarray(evaluator_scores, dtype=np.float64)[rows]
    gap = image_iou_gap(rec['saver_areas'][rows], rec['base_areas'][rows])
    out['oracle'] = (1.0 - gap) / 2.0
    return out


def train_seg_evaluator(records: str, out: str, max_drop: float = 0.01,
                        calib_fraction: float = 0.5, tolerance: float = 0.02,
                        hidden: int = 32, steps: int = 300, weight_decay: float = 0.1,
                        seed: int = 0, results: Optional[str] = None,
                        overwrite: bool = False) -> Dict:
    """Train the segmentation evaluator head and calibrate every policy's threshold.

    The records (``tools/record.py`` on a segmentation cascade config, on
    images neither segmentor trained on) are split in order: the first
    ``1 - calib_fraction`` fit the head on :data:`SEG_TARGET_DOC`, the rest
    calibrate, for every policy (the head, each confidence rule, the oracle),
    the threshold saving the most MACs with a dataset-level mIoU drop
    (IoUMetric's definition) of at most ``max_drop`` on those images.

    Args:
        records (str): Segmentation records (``.npz``).
        out (str): Evaluator checkpoint to write (weights + meta, with the
            calibrated threshold and the saver's fingerprint).
        max_drop (float): Allowed mIoU drop (0.01 = one point).
        calib_fraction (float): Share of the records kept for calibration.
        tolerance (float): Per-image IoU gain of the base under which the
            saver still counts as good enough.
        hidden (int): Hidden width of the head.
        steps (int): Training steps.
        weight_decay (float): Adam weight decay.
        seed (int): Random seed.
        results (str, optional): Also write the summary here (JSON) and the
            policies' mIoU-GMACs curves next to it (PNG).
        overwrite (bool): Replace ``out``/``results`` (and its PNG).

    Returns:
        dict: Fit/calibration sizes, AUC of each policy on the calibration
        images, per policy its calibrated row (threshold, exit ratio, mIoU,
        GMACs, MACs saved) with its curve.

    Raises:
        ValueError: On a bad ``calib_fraction``/``max_drop``, too few records,
            or an output that is the records file.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    from tinysaver_mm.models.segmentors import TinySaverSegEvaluatorHead
    check_head_request(records, out, results, overwrite, calib_fraction)
    calibrator = MIoUDropCalibrator(max_drop)
    rec = load_seg_records(records)
    meta = rec['meta']
    n = len(rec['img_paths'])
    n_fit = fit_size(n, calib_fraction)
    fit, cal = slice(0, n_fit), slice(n_fit, n)
    head = TinySaverSegEvaluatorHead(meta['num_classes'], hidden)
    x = torch.from_numpy(rec['saver_feats']).float()
    gap_fit = image_iou_gap(rec['saver_areas'][fit], rec['base_areas'][fit])
    y = torch.from_numpy(exit_target(gap_fit, tolerance))
    losses = fit_head(head, x[fit], y, steps=steps, weight_decay=weight_decay, seed=seed)
    head.set_trained_for(bytes.fromhex(meta['saver_fingerprint']))
    scores = head.score(x).numpy()
    sa, ba = rec['saver_areas'][cal], rec['base_areas'][cal]
    macs = {r: rec[f'macs_{r}'][cal].astype(np.float64) for r in ('saver', 'base')}
    macs['evaluator'] = np.full(n - n_fit, head_macs(head), dtype=np.float64)
    base_miou = areas_miou(ba)
    policies = seg_policy_scores(rec, cal, scores)
    rows = calibrate_policies(
        policies, lambda score, pays: cascade_miou_curve(sa, ba, score, macs, pays),
        calibrator, base_miou)
    y_cal = exit_target(image_iou_gap(sa, ba), tolerance)
    summary = dict(
        records=records, target=SEG_TARGET_DOC, tolerance=tolerance, max_drop=max_drop,
        hidden=hidden, steps=steps, weight_decay=weight_decay, num_fit=n_fit,
        num_calib=n - n_fit, exit_target_share_fit=float(y.mean()),
        final_loss=float(losses[-1]),
        auc_calib={k: roc_auc(y_cal, v) for k, v in policies.items()},
        saver_miou_calib=areas_miou(sa), base_miou_calib=base_miou,
        gmacs=gmacs_of(macs), policies=rows)
    head_cfg = dict(type='TinySaverSegEvaluatorHead', num_classes=head.num_classes,
                    hidden_channels=hidden)
    save_exit_head(out, head, dict(head_cfg=head_cfg, saver_fingerprint=meta['saver_fingerprint'],
                                   saver_settings=meta.get('saver_settings'),
                                   test_pipeline=meta.get('test_pipeline'),
                                   threshold=rows['evaluator']['threshold'], records=records,
                                   target=SEG_TARGET_DOC, tolerance=tolerance))
    summary['checkpoint'], summary['head_cfg'] = out, head_cfg
    write_head_summary(summary, results, rows, summary['saver_miou_calib'], base_miou, records,
                       max_drop, key='miou', ylabel='mIoU (%)')
    return summary
