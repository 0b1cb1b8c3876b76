"""Train a detection cascade's evaluator head from records and calibrate its threshold."""
import os.path as osp
import tempfile
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from tinysaver_mm.core import (ORIC_CONTEXT_SIZE, ORIC_NUM_DRAWS, MapDropCalibrator,
                               exit_target, quality_gap)
from tinysaver_mm.evaluation.functional import CocoEntries, cascade_map_curve, policy_scores
from ..records.det_records import check_det_aligned, instances_of, load_det_records
from .det_targets import TARGET_DOCS, exit_targets, oric_of
from .training import (ExitHeadTask, calibrate_policies, check_head_request, gmacs_of, head_macs,
                       roc_auc, train_exit_head, write_head_summary)

__all__ = ['DET_HEADS', 'DET_TARGETS', 'DetExitHeadTask', 'train_evaluator']

#: training targets of ``train_evaluator`` ('auto': both fitted, the one saving more kept)
DET_TARGETS = ('binary', 'oric', 'auto')
#: head kinds: image-level features, or a set encoder over the saver's boxes
DET_HEADS = {'mlp': 'TinySaverEvaluatorHead', 'set': 'TinySaverSetEvaluatorHead'}


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
        target (str): ``'binary'`` or ``'oric'`` (see
            :mod:`~tinysaver_mm.apis.exit_heads.det_targets`).
        head_type (str): A key of :data:`DET_HEADS`.
        extra_records (str, optional): Records that only fit the head (never
            calibrate it), e.g. the training split's.
        oric_context, oric_draws (int): ORIC context size and draws.
    """

    def __init__(self, records: str, max_drop: float, use_features: bool, tolerance: float,
                 topk: int, hidden: int, mean_topk: int, settings: dict,
                 target: str = 'binary', head_type: str = 'mlp',
                 extra_records: Optional[str] = None, oric_context: int = ORIC_CONTEXT_SIZE,
                 oric_draws: int = ORIC_NUM_DRAWS) -> None:
        super().__init__(records)
        if target not in TARGET_DOCS or head_type not in DET_HEADS:
            raise ValueError(f'target={target!r} / head_type={head_type!r}: choose a target of '
                             f'{sorted(TARGET_DOCS)} and a head of {sorted(DET_HEADS)}.')
        if use_features and (head_type == 'set' or extra_records):
            raise ValueError('use_features (pooled neck features) goes with the mlp head on the '
                             'records alone; drop it for head_type=\'set\' or extra_records.')
        self.calibrator = MapDropCalibrator(max_drop)  # refuses max_drop outside [0, 1]
        self.max_drop, self.use_features, self.tolerance = max_drop, use_features, tolerance
        self.topk, self.hidden, self.mean_topk, self.settings = topk, hidden, mean_topk, settings
        self.exit_target, self.head_type, self.extra_records = target, head_type, extra_records
        self.oric_context, self.oric_draws = oric_context, oric_draws
        self.target_doc = TARGET_DOCS[target]
        self.checkpoint_meta = dict(tolerance=tolerance, exit_target=target)

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
        from tinysaver_mm.models import detectors
        self.feats = torch.from_numpy(self.rec['saver_feats']) if self.use_features else None
        if self.head_type == 'set':
            return detectors.TinySaverSetEvaluatorHead(self.meta['num_classes'], self.topk,
                                                       hidden_channels=self.hidden,
                                                       target=self.exit_target)
        return detectors.TinySaverEvaluatorHead(self.meta['num_classes'], self.topk,
                                                self.feats.shape[1] if self.use_features else 0,
                                                self.hidden, target=self.exit_target)

    def inputs(self, head) -> torch.Tensor:
        return head.inputs(self.saver_inst, self.rec['ori_shapes'].tolist(), self.feats)

    def _entries(self, rows: slice) -> tuple:
        """COCO entries of the saver and the base on ``rows``, and their per-image gap."""
        ids = self.rec['img_ids'][rows]
        s = CocoEntries(self.meta['ann_file'], ids, self.saver_inst[rows], self.meta['classes'])
        b = CocoEntries(self.meta['ann_file'], ids, self.base_inst[rows], self.meta['classes'],
                        coco=s.coco)
        return s, b, quality_gap(s.image_ap(), b.image_ap())

    def _targets(self, saver: CocoEntries, base: CocoEntries) -> np.ndarray:
        oric = oric_of(saver, base, self.oric_context, self.oric_draws) \
            if self.exit_target == 'oric' else None
        return exit_targets(self.exit_target, saver, base, self.tolerance, oric)

    def target(self, rows: slice) -> torch.Tensor:
        s, b, _ = self._entries(rows)
        return torch.from_numpy(self._targets(s, b))

    def fit_rows(self, head, x: torch.Tensor, rows: slice) -> Tuple[torch.Tensor, torch.Tensor]:
        """The records' fitting rows, then every image of ``extra_records`` (their
        targets computed among themselves: ORIC's context is drawn within one file)."""
        x_fit, y = x[rows], self.target(rows)
        self.num_fit_extra = 0
        if not self.extra_records:
            return x_fit, y
        extra = load_det_records(self.extra_records)
        check_det_aligned(self.rec, extra, 'records and extra records')
        inst = instances_of(extra, 'saver')
        s = CocoEntries(extra['meta']['ann_file'], extra['img_ids'], inst, self.meta['classes'])
        b = CocoEntries(extra['meta']['ann_file'], extra['img_ids'], instances_of(extra, 'base'),
                        self.meta['classes'], coco=s.coco)
        x_extra = head.inputs(inst, extra['ori_shapes'].tolist())
        self.num_fit_extra = len(x_extra)
        return (torch.cat([x_fit, x_extra]),
                torch.cat([y, torch.from_numpy(self._targets(s, b))]))

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
        cfg = dict(type=DET_HEADS[self.head_type], num_classes=head.num_classes,
                   topk=head.topk, hidden_channels=self.hidden, target=self.exit_target)
        if self.head_type == 'mlp':
            cfg['feat_channels'] = head.feat_channels
        return cfg

    def summary(self, fitted: dict, policies: Dict[str, dict], head_cfg: dict,
                out: str) -> dict:
        return dict(
            records=self.records, target=self.target_doc, exit_target=self.exit_target,
            oric=dict(context_size=self.oric_context, num_draws=self.oric_draws)
            if self.exit_target == 'oric' else None,
            extra_records=self.extra_records, num_fit_extra=self.num_fit_extra,
            tolerance=self.tolerance,
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
                    overwrite: bool = False, target: str = 'binary', head_type: str = 'mlp',
                    extra_records: Optional[str] = None,
                    oric_context: int = ORIC_CONTEXT_SIZE,
                    oric_draws: int = ORIC_NUM_DRAWS) -> Dict:
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
        target (str): The head's training target (:data:`DET_TARGETS`):
            ``'binary'`` (per-image AP within ``tolerance``), ``'oric'`` (the
            image's ORIC quantile, see
            :mod:`~tinysaver_mm.apis.exit_heads.det_targets`) or ``'auto'``:
            both fitted, the one saving more MACs on the calibration half (at
            ``max_drop``) kept (ties: ``'binary'``). The head keeps its target.
        head_type (str): ``'mlp'`` (image-level features) or ``'set'`` (a set
            encoder over the saver's boxes).
        extra_records (str, optional): More records fitting the head only
            (e.g. the training split's, ``tools/record_det_views.py --split
            train --flip random``); thresholds are calibrated on the
            calibration half of ``records`` alone.
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
    if target not in DET_TARGETS:
        raise ValueError(f'target={target!r}: choose one of {DET_TARGETS}.')

    def task(t: str, choice: Optional[dict] = None) -> DetExitHeadTask:
        settings = dict(steps=steps, weight_decay=weight_decay)
        if choice is not None:
            settings['target_choice'] = choice
        return DetExitHeadTask(records, max_drop, use_features, tolerance, topk, hidden,
                               mean_topk, settings, t, head_type, extra_records, oric_context,
                               oric_draws)

    choice = None
    if target == 'auto':  # fit both, keep the one saving more on the calibration half
        check_head_request(records, out, results, overwrite, calib_fraction)
        saved = {}
        with tempfile.TemporaryDirectory() as tmp:
            for t in ('binary', 'oric'):
                s = train_exit_head(task(t), osp.join(tmp, f'{t}.pth'), calib_fraction, steps,
                                    weight_decay, seed)
                saved[t] = s['policies']['evaluator']['macs_saved_pct']
        target = max(saved, key=lambda t: (saved[t], t == 'binary'))
        choice = dict(requested='auto', calib_macs_saved_pct=saved, chosen=target)
    return train_exit_head(task(target, choice), out, calib_fraction, steps, weight_decay, seed,
                           results, overwrite)
