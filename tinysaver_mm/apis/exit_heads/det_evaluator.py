"""Train a detection cascade's evaluator head from records and calibrate its threshold."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import MapDropCalibrator, exit_target, quality_gap
from tinysaver_mm.evaluation.functional import CocoEntries, cascade_map_curve, policy_scores
from ..records.det_records import instances_of, load_det_records
from .training import (ExitHeadTask, calibrate_policies, gmacs_of, head_macs, roc_auc,
                       train_exit_head, write_head_summary)

__all__ = ['DetExitHeadTask', 'train_evaluator']

TARGET_DOC = ('exit target = 1 where the saver\'s per-image COCO AP (IoU .50:.95, the '
              'image evaluated alone) is at least the base\'s minus the tolerance')


class DetExitHeadTask(ExitHeadTask):
    """Detection: the head reads the saver's boxes; the target and the curve are box mAP.

    Args:
        records (str): Detection records (``.npz``).
        max_drop (float): Allowed mAP drop (0.01 = 1 point of AP@[.5:.95]).
        use_features (bool): Feed the saver's pooled neck features too.
        tolerance (float): Per-image AP the saver may lose and still count as
            good as the base (see :func:`tinysaver_mm.core.exit_target`).
        topk (int): Detections the head describes one by one.
        hidden (int): Hidden width of the head.
        mean_topk (int): ``k`` of the ``mean_topk`` policy.
        settings (dict): Training settings reported in the summary.
    """
    target_doc = TARGET_DOC

    def __init__(self, records: str, max_drop: float, use_features: bool, tolerance: float,
                 topk: int, hidden: int, mean_topk: int, settings: dict) -> None:
        super().__init__(records)
        self.calibrator = MapDropCalibrator(max_drop)  # refuses max_drop outside [0, 1]
        self.max_drop, self.use_features, self.tolerance = max_drop, use_features, tolerance
        self.topk, self.hidden, self.mean_topk, self.settings = topk, hidden, mean_topk, settings
        self.checkpoint_meta = dict(tolerance=tolerance)

    def load(self) -> int:
        self.rec = load_det_records(self.records)
        self.meta = self.rec['meta']
        self.fingerprint = self.meta['saver_fingerprint']
        self.saver_settings = self.meta.get('saver_settings')
        self.test_pipeline = self.meta.get('test_pipeline')
        self.saver_inst = instances_of(self.rec, 'saver')
        self.base_inst = instances_of(self.rec, 'base')
        return len(self.rec['img_ids'])

    def make_head(self) -> torch.nn.Module:
        from tinysaver_mm.models.detectors import TinySaverEvaluatorHead
        self.feats = torch.from_numpy(self.rec['saver_feats']) if self.use_features else None
        return TinySaverEvaluatorHead(self.meta['num_classes'], self.topk,
                                      self.feats.shape[1] if self.use_features else 0,
                                      self.hidden)

    def inputs(self, head) -> torch.Tensor:
        return head.inputs(self.saver_inst, self.rec['ori_shapes'].tolist(), self.feats)

    def _entries(self, rows: slice) -> tuple:
        """COCO entries of the saver and the base on ``rows``, and their per-image gap."""
        ids = self.rec['img_ids'][rows]
        s = CocoEntries(self.meta['ann_file'], ids, self.saver_inst[rows], self.meta['classes'])
        b = CocoEntries(self.meta['ann_file'], ids, self.base_inst[rows], self.meta['classes'],
                        coco=s.coco)
        return s, b, quality_gap(s.image_ap(), b.image_ap())

    def target(self, rows: slice) -> torch.Tensor:
        return torch.from_numpy(exit_target(self._entries(rows)[2], self.tolerance))

    def calibrate(self, head, x: torch.Tensor, rows: slice) -> Dict[str, dict]:
        scores = head.score(x).numpy()
        s, b, gap = self._entries(rows)
        n = len(self.rec['img_ids'][rows])
        self.macs = {r: self.rec[f'macs_{r}'][rows].astype(np.float64) for r in ('saver', 'base')}
        self.macs['evaluator'] = np.full(n, head_macs(head), dtype=np.float64)
        self.saver_map, self.base_map = s.map(), b.map()
        self.policies = policy_scores(self.saver_inst[rows], gap, scores[rows], self.mean_topk)
        self.y_cal = exit_target(gap, self.tolerance)
        return calibrate_policies(
            self.policies,
            lambda score, pays: cascade_map_curve(s, b, score, self.macs, with_evaluator=pays),
            self.calibrator, self.base_map)

    def head_cfg(self, head) -> dict:
        return dict(type='TinySaverEvaluatorHead', num_classes=head.num_classes,
                    topk=head.topk, feat_channels=head.feat_channels,
                    hidden_channels=self.hidden)

    def summary(self, fitted: dict, policies: Dict[str, dict], head_cfg: dict,
                out: str) -> dict:
        return dict(
            records=self.records, target=TARGET_DOC, tolerance=self.tolerance,
            max_drop=self.max_drop, use_features=self.use_features, hidden=self.hidden,
            **self.settings, num_fit=fitted['num_fit'], num_calib=fitted['num_calib'],
            exit_target_share_fit=float(fitted['target'].mean()),
            final_loss=float(fitted['losses'][-1]),
            auc_calib={k: roc_auc(self.y_cal, v) for k, v in self.policies.items()},
            saver_map_calib=self.saver_map, base_map_calib=self.base_map,
            gmacs=gmacs_of(self.macs), policies=policies, checkpoint=out, head_cfg=head_cfg)

    def write(self, summary: dict, results: Optional[str], policies: Dict[str, dict]) -> None:
        write_head_summary(summary, results, policies, self.saver_map, self.base_map,
                           self.records, self.max_drop)


def train_evaluator(records: str, out: str, max_drop: float = 0.01,
                    calib_fraction: float = 0.5, use_features: bool = False,
                    tolerance: float = 0.1, topk: int = 10, hidden: int = 32,
                    steps: int = 300, weight_decay: float = 0.1, seed: int = 0,
                    mean_topk: int = 5, results: Optional[str] = None,
                    overwrite: bool = False) -> Dict:
    """Train the evaluator head on one split's records and calibrate thresholds.

    The records (``tools/record.py DET_CASCADE_CONFIG --split holdout``, on
    images the detectors did not train on) are split in order (:func:`train_exit_head`): the first
    ``1 - calib_fraction`` fit the head, the rest calibrate, for every policy
    (the head, ``max_score``, ``mean_topk`` and the ``oracle`` that knows the
    per-image gap), the threshold saving the most MACs with a box-mAP drop of
    at most ``max_drop`` on those images.

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
    task = DetExitHeadTask(records, max_drop, use_features, tolerance, topk, hidden, mean_topk,
                           dict(steps=steps, weight_decay=weight_decay))
    return train_exit_head(task, out, calib_fraction, steps, weight_decay, seed, results,
                           overwrite)
