"""TinySaverDetector: a tiny saver detector answers the easy images, a base the rest."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS

from tinysaver_mm.core import DET_EXIT_RULES, cascade_fields, det_confidence
from ..cascade import BaseCascade
from .det_branch import DetBranch, detector_num_classes
from .det_data_preprocessor import TinySaverDetDataPreprocessor
from .det_report import attach_report

__all__ = ['TinySaverDetector', 'detector_num_classes']


@MODELS.register_module()
class TinySaverDetector(BaseCascade, BaseDetector):
    """A cascade of a tiny saver detector, optional middle ones, and a base detector.

    The saver detects on every image. Its exit score per image comes from a
    learned evaluator head reading its detections (``exit_rule='evaluator'``)
    or from a simple rule on them (``'max_score'``, ``'mean_topk'``); middle
    stages (``mids``) are scored by the simple rule (``'max_score'`` when the
    saver's is the evaluator). Images scoring at least their stage's threshold
    keep its detections; the rest go on, as one smaller batch, and the base's
    detections are final. Each detector has its own checkpoint, preprocessor
    and extra transforms (``pipeline=``). Predictions carry ``pred_instances``
    in original image coordinates (``CocoMetric`` works unchanged) and the
    cascade fields of :mod:`tinysaver_mm.core.fields`.

    Args:
        saver (dict): ``dict(cfg_path='mmdet::...' or a file, checkpoint=...,
            pipeline=[...], **overrides)`` or an mmdet model dict with
            ``type`` (optionally ``checkpoint`` and ``pipeline``).
        base (dict): The large detector, in the same form.
        evaluator (dict, optional): The evaluator head config (e.g.
            ``dict(type='TinySaverEvaluatorHead', num_classes=80,
            checkpoint=...)``); needed by ``exit_rule='evaluator'``.
        threshold (float | list[float] | str, optional): Exit threshold(s) in
            [0, 1], or a calibration JSON; None takes the threshold calibrated
            for the evaluator, stored in its checkpoint. Defaults to 0.5.
        exit_rule (str, optional): ``'evaluator'`` (default when an
            evaluator is given), ``'max_score'`` (default otherwise) or
            ``'mean_topk'``.
        topk (int): Scores averaged by ``'mean_topk'``. Defaults to 5.
        report (bool): Analysis mode: the base also runs on the images that
            exited, and each prediction carries ``saver_instances``,
            ``base_instances`` and ``policy_scores``; ``pred_instances``,
            ``exited`` and ``macs`` stay those of the routed cascade.
        mids (list[dict], optional): Middle detectors, named ``mid0``...
        empty_exits (bool): Whether an image on which a stage found nothing
            may exit there. By default it may not: its exit score is NaN and
            it goes on to the next stage. Defaults to False.
        data_preprocessor (dict, optional): For detectors without their own.
        init_cfg (dict, optional): Unused by the cascade itself.
        backbone (dict, optional): Empty, or only ``init_cfg=None``: the
            cascade's backbones are its stages'. It exists for host tools
            that read ``cfg.model.backbone`` (mmdet's ``init_detector`` clears
            its ``init_cfg``), so a cascade config may carry ``backbone=dict()``.
        backend (str): How a stage runs: ``'pytorch'`` (default) or
            ``'onnxruntime'``: each single-stage detector's backbone, neck and
            head from ``deploy_dir`` (``tools/deploy.py``); preprocessing,
            box decoding + NMS and the evaluator head stay in PyTorch.
        deploy_dir (str, optional): The deployment directory.
        train_cfg (dict, optional): Accepted for mmdet's tools and
            ``--cfg-options model.test_cfg...``; must be empty (the cascade
            does not train).
        test_cfg (dict, optional): Must be empty: each detector keeps its own
            ``test_cfg`` (set ``model.base.test_cfg...`` instead).

    Raises:
        ValueError: On a bad threshold or rule, a non-empty ``train_cfg`` or
            ``test_cfg``, detectors with different
            class sets, an evaluator trained for another saver or another
            class count, or a checkpoint that does not match its model.
        FileNotFoundError: If a checkpoint does not exist.
    """

    exit_rules = tuple(sorted(DET_EXIT_RULES)) + ('evaluator', )
    stage_registry, stage_scope = MODELS, 'mmdet'
    stage_keys = ('pipeline', )
    deploy_task = 'detection'
    train_hint = ('train the saver and base with tools/train.py and the evaluator with '
                  'tools/train_evaluator.py.')
    stage_num_classes = staticmethod(detector_num_classes)
    recalibrate_hint = (
        'python tools/record.py CONFIG --split holdout --cfg-options <the same overrides>, then '
        'python tools/train_evaluator.py records/<config name>_holdout_det.npz --out NEW.pth '
        '--max-drop 0.01, and give model.evaluator.checkpoint=NEW.pth threshold=None (for the '
        'demo, bash tools/train_det_evaluator.sh does both with its config).')

    def __init__(self, saver: dict, base: dict, evaluator: Optional[dict] = None,
                 threshold=0.5, exit_rule: Optional[str] = None, topk: int = 5,
                 report: bool = False, mids: Optional[Sequence[dict]] = None,
                 empty_exits: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 backbone: Optional[dict] = None, backend: str = 'pytorch',
                 deploy_dir: Optional[str] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None):
        own = {k: v for k, v in (backbone or {}).items() if not (k == 'init_cfg' and v is None)}
        if own:
            raise ValueError(f'backbone={dict(backbone)!r}: a TinySaverDetector has no backbone '
                             'of its own (its stages have theirs); give backbone settings in a '
                             "stage's spec (e.g. saver=dict(cfg_path=..., backbone=dict(...))), "
                             'and leave backbone=dict() empty.')
        super().__init__(data_preprocessor=TinySaverDetDataPreprocessor(), init_cfg=init_cfg)
        self.refuse_own_cfgs(train_cfg=train_cfg, test_cfg=test_cfg)
        exit_rule = exit_rule or ('evaluator' if evaluator is not None else 'max_score')
        if exit_rule == 'evaluator' and evaluator is None:
            raise ValueError("exit_rule='evaluator' needs evaluator=dict(type="
                             "'TinySaverEvaluatorHead', ..., checkpoint=...).")
        self.topk, self.report, self.empty_exits = int(topk), bool(report), bool(empty_exits)
        self.branches: Dict[str, DetBranch] = {}
        self.init_cascade(saver, base, mids, None, exit_rule, data_preprocessor)
        self.init_evaluator(evaluator, threshold)
        if getattr(self.evaluator, 'flip', False):
            raise ValueError(
                "The evaluator reads the saver's detections on the horizontally flipped image "
                '(flip=True), but the cascade runs the saver once, on its test pipeline\'s view, '
                'and cannot give it that view. Use a head with flip=False (on the Fashion-MNIST '
                'detection set the flipped view did not help; see tools/det_exit_study.sh).')
        self.use_backend(backend, deploy_dir)

    def use_backend(self, backend: str, deploy_dir: Optional[str] = None) -> None:
        """Run the detectors' graphs with ``backend`` from now on (see Args).

        Raises:
            ValueError: On an unknown backend, a missing ``deploy_dir`` or a
                manifest of another cascade; ImportError without onnxruntime.
        """
        from ..backends.deployed import deployed_parts
        sessions = deployed_parts(self, backend, deploy_dir, with_evaluator=False)
        for role in self.stage_names:
            self.branches[role].session = sessions.get(role)
        self.backend, self.deploy_dir = backend, deploy_dir

    # ------------------------------------------------------------------ build
    def build_stage(self, cfg: dict, role: str, pipeline=None) -> nn.Module:
        model = MODELS.build(cfg)
        self.branches[role] = DetBranch(model, pipeline, role)
        return model

    # ----------------------------------------------------------- task methods
    def stage_inputs(self, role: str, inputs, data_samples=None):
        """The detector's own transforms and preprocessor on raw images."""
        return self.branches[role].inputs(inputs, data_samples)

    def _with_features(self, role: str) -> bool:
        return role == 'saver' and self.evaluator is not None and \
            self.evaluator.use_features and (self.report or self.exit_rule == 'evaluator')

    def run_stage(self, role: str, inputs, data_samples=None) -> List[tuple]:
        """``(instances, pooled features or None)`` per image."""
        preds, feats = self.branches[role].predict(list(inputs), data_samples,
                                                   with_features=self._with_features(role))
        return [(p, None if feats is None else feats[i]) for i, p in enumerate(preds)]

    def exit_scores(self, role: str, outputs: List[tuple], data_samples=None) -> torch.Tensor:
        """Evaluator score (saver, ``exit_rule='evaluator'``) or simple rule (N,)."""
        instances = [o[0] for o in outputs]
        if role != 'saver' or self.exit_rule != 'evaluator':
            rule = 'max_score' if self.exit_rule == 'evaluator' else self.exit_rule
            scores = det_confidence([p.scores for p in instances], rule, self.topk)
        else:
            scores = self.evaluator_scores(instances, data_samples, [o[1] for o in outputs])
        if not self.empty_exits:  # nothing found: no exit score, the image goes on
            empty = torch.tensor([len(p) == 0 for p in instances], device=scores.device)
            scores = scores.masked_fill(empty, float('nan'))
        return scores

    def evaluator_scores(self, instances, data_samples, feats) -> torch.Tensor:
        feats = None if feats[0] is None else torch.stack(feats)
        shapes = [ds.metainfo['ori_shape'] for ds in data_samples]
        return self.evaluator.score(self.evaluator.inputs(instances, shapes, feats))

    def measure_part(self, part: str, img: torch.Tensor, data_sample=None) -> int:
        """One part alone on a fixed noise image of this shape (batch of one)."""
        return self.branches[part].measure_macs(tuple(img.shape), data_sample)

    # ---------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(self, batch_inputs, batch_data_samples: List, rescale: bool = True) -> List:
        """Detect with the cascade.

        Args:
            batch_inputs: Raw images (a list of (C, H, W) uint8 tensors, or a
                stacked batch), as the cascade's dataloader collates them.
            batch_data_samples (list[DetDataSample]): Their samples.
            rescale (bool): Must be True: boxes are always returned in
                original image coordinates (stages may use other resolutions).

        Returns:
            list[DetDataSample]: ``batch_data_samples`` with predictions.
        """
        if not rescale:
            raise ValueError('TinySaverDetector returns boxes in original image '
                             'coordinates only (its detectors may use different '
                             'resolutions); call predict with rescale=True.')
        if self.batch_size_of(batch_inputs, batch_data_samples) == 0:
            return []
        self.ensure_fingerprints()
        inputs, samples = list(batch_inputs), list(batch_data_samples)
        outputs, answered_by, scores, first = self.route(inputs, samples, keep_first=True)
        if self.report:
            attach_report(self, inputs, samples, first, outputs, answered_by)
        for ds, out, stage, score, macs in zip(samples, outputs, answered_by.tolist(),
                                               scores.tolist(), self.image_macs(inputs, samples)):
            ds.pred_instances = out[0]
            ds.set_metainfo(cascade_fields(self.stage_names, stage, score, macs,
                                           self.overheads))
        return batch_data_samples
