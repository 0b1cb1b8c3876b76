"""Train a segmentation cascade's evaluator head from records; compare exit policies."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import MIoUDropCalibrator, exit_target
from tinysaver_mm.evaluation.functional import areas_miou, cascade_miou_curve, image_iou_gap
from ..records.seg_records import load_seg_records
from .training import (ExitHeadTask, calibrate_policies, gmacs_of, head_macs, roc_auc,
                       train_exit_head, write_head_summary)

__all__ = ['SegExitHeadTask', 'train_seg_evaluator', 'seg_policy_scores', 'SEG_TARGET_DOC']

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


class SegExitHeadTask(ExitHeadTask):
    """Segmentation: the head reads the saver's pooled per-pixel probabilities; the
    target is the per-image IoU gap, the curve the dataset-level mIoU.

    Args:
        records (str): Segmentation records (``.npz``).
        max_drop (float): Allowed mIoU drop (0.01 = one point).
        tolerance (float): Per-image IoU gain of the base under which the
            saver still counts as good enough.
        hidden (int): Hidden width of the head.
        settings (dict): Training settings reported in the summary.
    """
    target_doc = SEG_TARGET_DOC

    def __init__(self, records: str, max_drop: float, tolerance: float, hidden: int,
                 settings: dict) -> None:
        super().__init__(records)
        self.calibrator = MIoUDropCalibrator(max_drop)
        self.max_drop, self.tolerance, self.hidden, self.settings = (max_drop, tolerance,
                                                                     hidden, settings)
        self.checkpoint_meta = dict(tolerance=tolerance)

    def load(self) -> int:
        self.rec = load_seg_records(self.records)
        self.meta = self.rec['meta']
        self.fingerprint = self.meta['saver_fingerprint']
        return len(self.rec['img_paths'])

    def make_head(self) -> torch.nn.Module:
        from tinysaver_mm.models.segmentors import TinySaverSegEvaluatorHead
        return TinySaverSegEvaluatorHead(self.meta['num_classes'], self.hidden)

    def inputs(self, head) -> torch.Tensor:
        return torch.from_numpy(self.rec['saver_feats']).float()

    def target(self, rows: slice) -> torch.Tensor:
        gap = image_iou_gap(self.rec['saver_areas'][rows], self.rec['base_areas'][rows])
        return torch.from_numpy(exit_target(gap, self.tolerance))

    def calibrate(self, head, x: torch.Tensor, rows: slice) -> Dict[str, dict]:
        scores = head.score(x).numpy()
        sa, ba = self.rec['saver_areas'][rows], self.rec['base_areas'][rows]
        self.macs = {r: self.rec[f'macs_{r}'][rows].astype(np.float64) for r in ('saver', 'base')}
        self.macs['evaluator'] = np.full(len(sa), head_macs(head), dtype=np.float64)
        self.saver_miou, self.base_miou = areas_miou(sa), areas_miou(ba)
        self.policies = seg_policy_scores(self.rec, rows, scores)
        self.y_cal = exit_target(image_iou_gap(sa, ba), self.tolerance)
        return calibrate_policies(
            self.policies, lambda score, pays: cascade_miou_curve(sa, ba, score, self.macs, pays),
            self.calibrator, self.base_miou)

    def head_cfg(self, head) -> dict:
        return dict(type='TinySaverSegEvaluatorHead', num_classes=head.num_classes,
                    hidden_channels=self.hidden)

    def summary(self, fitted: dict, policies: Dict[str, dict], head_cfg: dict,
                out: str) -> dict:
        return dict(
            records=self.records, target=SEG_TARGET_DOC, tolerance=self.tolerance,
            max_drop=self.max_drop, hidden=self.hidden, **self.settings,
            num_fit=fitted['num_fit'], num_calib=fitted['num_calib'],
            exit_target_share_fit=float(fitted['target'].mean()),
            final_loss=float(fitted['losses'][-1]),
            auc_calib={k: roc_auc(self.y_cal, v) for k, v in self.policies.items()},
            saver_miou_calib=self.saver_miou, base_miou_calib=self.base_miou,
            gmacs=gmacs_of(self.macs), policies=policies, checkpoint=out, head_cfg=head_cfg)

    def write(self, summary: dict, results: Optional[str], policies: Dict[str, dict]) -> None:
        write_head_summary(summary, results, policies, self.saver_miou, self.base_miou,
                           self.records, self.max_drop, key='miou', ylabel='mIoU (%)')


def train_seg_evaluator(records: str, out: str, max_drop: float = 0.01,
                        calib_fraction: float = 0.5, tolerance: float = 0.02,
                        hidden: int = 32, steps: int = 300, weight_decay: float = 0.1,
                        seed: int = 0, results: Optional[str] = None,
                        overwrite: bool = False) -> Dict:
    """Train the segmentation evaluator head and calibrate every policy's threshold.

    The records (``tools/record.py`` on a segmentation cascade config, on
    images neither segmentor trained on) are split in order
    (:func:`train_exit_head`): the first
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
    task = SegExitHeadTask(records, max_drop, tolerance, hidden,
                           dict(steps=steps, weight_decay=weight_decay))
    return train_exit_head(task, out, calib_fraction, steps, weight_decay, seed, results,
                           overwrite)
