"""TinySaverDetector: a tiny saver detector answers the easy images, a base the rest."""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DefaultScope

from tinysaver_mm.core import (DET_EXIT_RULES, check_threshold, det_confidence,
                               exit_mask, split_by_mask)
from tinysaver_mm.utils import (load_checkpoint_strict, measure_macs,
                                resolve_stage_spec, state_dict_fingerprint)
from .det_branch import DetBranch

__all__ = ['TinySaverDetector', 'detector_num_classes']

EXIT_RULES = tuple(sorted(DET_EXIT_RULES)) + ('evaluator', )


def detector_num_classes(model: nn.Module) -> Optional[int]:
    """``num_classes`` of a detector's (final) box head, if it has one."""
    for path in ('bbox_head', 'roi_head.bbox_head'):
        obj = model
        for name in path.split('.'):
            obj = getattr(obj, name, None)
        if isinstance(obj, (list, nn.ModuleList)):  # cascade R-CNN stages
            obj = obj[-1]
        if obj is not None and hasattr(obj, 'num_classes'):
            return int(obj.num_classes)
    return None


@MODELS.register_module()
class TinySaverDetector(BaseDetector):
    """A cascade of a tiny saver detector and a large base detector.

    The saver detects on every image. An exit score per image comes from a
    learned evaluator head reading the saver's detections (``exit_rule=
    'evaluator'``) or from a simple rule on them (``'max_score'``,
    ``'mean_topk'``). Images scoring at least ``threshold`` keep the saver's
    detections; the rest go, as one smaller batch, to the base, whose
    detections are final. The base never runs on a batch in which every image
    exited.

    Each detector is built from its own config with its own checkpoint and
    data preprocessor, and may add transforms of its own (``pipeline=``, e.g.
    a ``Resize`` to its training scale) to the cascade's test pipeline.
    Predictions carry ``pred_instances`` in original image coordinates, so
    ``CocoMetric`` works unchanged, plus ``exited``, ``answered_by``,
    ``exit_score``, ``macs`` (what the image cost) and ``macs_<part>`` for the
    ``TinySaverMetric``.

    Args:
        saver (dict): ``dict(cfg_path='mmdet::...' or a file, checkpoint=...,
            pipeline=[...], **overrides)`` or an mmdet model dict with
            ``type`` (optionally ``checkpoint`` and ``pipeline``).
        base (dict): The large detector, in the same form.
        evaluator (dict, optional): The evaluator head config (e.g.
            ``dict(type='TinySaverEvaluatorHead', num_classes=80,
            checkpoint=...)``); needed by ``exit_rule='evaluator'``.
        threshold (float): Exit threshold in [0, 1]. Defaults to 0.5.
        exit_rule (str, optional): ``'evaluator'`` (default when an
            evaluator is given), ``'max_score'`` (default otherwise) or
            ``'mean_topk'``.
        topk (int): Scores averaged by ``'mean_topk'``. Defaults to 5.
        report (bool): Analysis mode for comparing policies: the base also
            runs on the images that exited, and each prediction carries
            ``saver_instances``, ``base_instances`` and ``policy_scores``
            (every simple rule, and the evaluator's). ``pred_instances``,
            ``exited`` and ``macs`` stay those of the routed cascade.
            Defaults to False.
        data_preprocessor (dict, optional): Used for a detector that has no
            ``data_preprocessor`` of its own.
        init_cfg (dict, optional): Unused by the cascade itself.

    Raises:
        ValueError: On a bad threshold or rule, detectors with different
            class sets, an evaluator trained for another saver or another
            class count, or a checkpoint that does not match its model.
        FileNotFoundError: If a checkpoint does not exist.
    """

    stage_names: Tuple[str, ...] = ('saver', 'base')

    def __init__(self, saver: dict, base: dict, evaluator: Optional[dict] = None,
                 threshold: float = 0.5, exit_rule: Optional[str] = None,
                 topk: int = 5, report: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=BaseDataPreprocessor(), init_cfg=init_cfg)
        exit_rule = exit_rule or ('evaluator' if evaluator is not None else 'max_score')
        if exit_rule not in EXIT_RULES:
            raise ValueError(f'exit_rule={exit_rule!r} is unknown; choose one of {EXIT_RULES}.')
        if exit_rule == 'evaluator' and evaluator is None:
            raise ValueError("exit_rule='evaluator' needs evaluator=dict(type="
                             "'TinySaverEvaluatorHead', ..., checkpoint=...).")
        self.exit_rule, self.topk, self.report = exit_rule, int(topk), bool(report)
        self.threshold = threshold
        self.checkpoints: Dict[str, Optional[str]] = {}
        self.branches: Dict[str, DetBranch] = {}
        class_names = {}
        for role, spec in (('saver', saver), ('base', base)):
            model, pipeline, names = self._build_stage(spec, role, data_preprocessor)
            setattr(self, role, model)
            self.branches[role] = DetBranch(model, pipeline, role)
            class_names[role] = names
        self._check_classes(class_names)
        self.evaluator = None
        if evaluator is not None:
            self.evaluator = self._build_evaluator(evaluator)
        self._evaluator_checked = False
        self._register_load_state_dict_pre_hook(self._on_load)
        self._macs: Dict[Tuple, int] = {}

    # ------------------------------------------------------------------ build
    def _build_stage(self, spec: dict, role: str, default_preprocessor: Optional[dict]):
        if not isinstance(spec, dict):
            raise TypeError(f'{role} must be a dict, got {type(spec).__name__}.')
        spec = dict(spec)
        pipeline = spec.pop('pipeline', None)
        cfg, ckpt = resolve_stage_spec(spec, role)
        if cfg.get('data_preprocessor') is None:
            if default_preprocessor is None:
                print_log(f'TinySaverDetector: the {role} has no data_preprocessor, '
                          'so its inputs are not normalised.', 'current', logging.WARNING)
            else:
                cfg['data_preprocessor'] = copy.deepcopy(default_preprocessor)
        with DefaultScope.overwrite_default_scope('mmdet'):  # whatever the caller's scope
            model = MODELS.build(cfg)
        names = None
        if ckpt is not None:
            meta = load_checkpoint_strict(model, ckpt, role).get('meta') or {}
            names = (meta.get('dataset_meta') or {}).get('classes')
        self.checkpoints[role] = ckpt
        model.eval()
        return model, pipeline, names

    def _check_classes(self, class_names: Dict[str, Optional[Sequence[str]]]) -> None:
        counts = {r: detector_num_classes(getattr(self, r)) for r in self.stage_names}
        known = {r: n for r, n in counts.items() if n is not None}
        if len(set(known.values())) > 1:
            raise ValueError(
                f'Saver and base must detect the same classes, but their heads have '
                f'num_classes {known}. Use a saver trained on the base\'s label set.')
        if all(class_names.values()) and \
                list(class_names['saver']) != list(class_names['base']):
            raise ValueError(
                'Saver and base checkpoints were trained on different class sets '
                f"(saver: {list(class_names['saver'])[:5]}..., base: "
                f"{list(class_names['base'])[:5]}...). Use a saver trained on the "
                "base's classes, in the same order.")
        self.num_classes = next(iter(known.values()), None)

    def _build_evaluator(self, spec: dict) -> nn.Module:
        spec = dict(spec)
        ckpt = spec.pop('checkpoint', None)
        with DefaultScope.overwrite_default_scope('mmdet'):
            head = MODELS.build(spec)
        if ckpt is not None:
            load_checkpoint_strict(head, ckpt, 'evaluator')
        self.checkpoints['evaluator'] = ckpt
        if self.num_classes is not None and head.num_classes != self.num_classes:
            raise ValueError(f'The evaluator is for {head.num_classes} classes but the '
                             f'saver detects {self.num_classes}.')
        head.eval()
        self._check_evaluator(head)
        return head

    def _check_evaluator(self, head: nn.Module) -> None:
        """Refuse an evaluator trained for another saver; warn if untrained."""
        trained_for = head.trained_for
        if trained_for is None:
            print_log('TinySaverDetector: the evaluator has no saver fingerprint '
                      '(untrained); its exit scores are meaningless. Train it with '
                      'tools/train_evaluator.py.', 'current', logging.WARNING)
        elif trained_for != state_dict_fingerprint(self.saver):
            raise ValueError(
                'The evaluator was trained for another saver (its saver fingerprint '
                f'{trained_for.hex()[:12]}... differs from this saver\'s '
                f'{state_dict_fingerprint(self.saver).hex()[:12]}...). Train an '
                'evaluator for this saver with tools/train_evaluator.py.')
        self._evaluator_checked = True

    def _on_load(self, *args, **kwargs) -> None:
        self._evaluator_checked = False

    @property
    def threshold(self) -> float:
        """The exit threshold in [0, 1]."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = check_threshold(value)

    def train(self, mode: bool = True) -> 'TinySaverDetector':
        """Detectors stay in eval mode: the cascade is for inference only."""
        super().train(mode)
        for part in ('saver', 'base', 'evaluator'):
            if getattr(self, part, None) is not None:
                getattr(self, part).eval()
        return self

    # ---------------------------------------------------------- not supported
    def loss(self, batch_inputs, batch_data_samples):
        """Not supported: train the detectors and the evaluator separately."""
        raise NotImplementedError(
            'TinySaverDetector is an inference cascade of frozen detectors; train '
            'the saver and base with tools/train.py and the evaluator with '
            'tools/train_evaluator.py.')

    def _forward(self, batch_inputs, batch_data_samples=None):
        raise NotImplementedError("TinySaverDetector routes images: use mode='predict'.")

    def extract_feat(self, batch_inputs):
        raise NotImplementedError('TinySaverDetector has no single feature extractor; '
                                  'use its saver or base.')

    # ---------------------------------------------------------------- routing
    def exit_scores(self, pred_instances: Sequence, data_samples: Sequence,
                    feats: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Exit score per image from the saver's detections (N,) in [0, 1]."""
        if self.exit_rule != 'evaluator':
            return det_confidence([p.scores for p in pred_instances], self.exit_rule,
                                  self.topk)
        shapes = [ds.metainfo['ori_shape'] for ds in data_samples]
        return self.evaluator.score(self.evaluator.inputs(pred_instances, shapes, feats))

    @torch.no_grad()
    def predict(self, batch_inputs, batch_data_samples: List, rescale: bool = True) -> List:
        """Detect with the cascade.

        Args:
            batch_inputs: Raw images (a list of (C, H, W) uint8 tensors, or a
                stacked batch), as the cascade's dataloader collates them.
            batch_data_samples (list[DetDataSample]): Their samples (with
                ``ori_shape``, ``img_shape``, ``scale_factor``).
            rescale (bool): Must be True: boxes are always returned in
                original image coordinates, since the two detectors may work at
                different resolutions.

        Returns:
            list[DetDataSample]: ``batch_data_samples`` with predictions.
        """
        if not rescale:
            raise ValueError('TinySaverDetector returns boxes in original image '
                             'coordinates only (its detectors may use different '
                             'resolutions); call predict with rescale=True.')
        n = len(batch_inputs)
        if n == 0:
            return list(batch_data_samples)
        if self.evaluator is not None and not self._evaluator_checked:
            self._check_evaluator(self.evaluator)
        inputs = list(batch_inputs)
        with_feats = self.evaluator is not None and self.evaluator.use_features and \
            (self.report or self.exit_rule == 'evaluator')
        preds, feats = self.branches['saver'].predict(inputs, batch_data_samples,
                                                      with_features=with_feats)
        scores = self.exit_scores(preds, batch_data_samples, feats)
        exits = exit_mask(scores, self.threshold)
        done, rest = split_by_mask(torch.arange(n), exits)
        saver_preds, preds = list(preds), list(preds)
        base_preds = self._run_base(inputs, batch_data_samples, rest)
        preds = [base_preds.get(i, p) for i, p in enumerate(preds)]
        if self.report:
            base_preds.update(self._run_base(inputs, batch_data_samples, done))
            self._attach_report(batch_data_samples, saver_preds, base_preds, scores, feats)
        for i, ds in enumerate(batch_data_samples):
            ds.pred_instances = preds[i]
            macs = self.image_macs(inputs[i], ds)
            spent = macs['saver'] + macs.get('evaluator', 0) + \
                (0 if bool(exits[i]) else macs['base'])
            ds.set_metainfo(dict(
                exited=bool(exits[i]), answered_by='saver' if exits[i] else 'base',
                exit_score=float(scores[i]), macs=float(spent),
                cascade_stages=self.stage_names,
                cascade_overheads=('evaluator', ) if 'evaluator' in macs else (),
                **{f'macs_{k}': float(v) for k, v in macs.items()}))
        return batch_data_samples

    def _run_base(self, inputs: list, data_samples: list, index: torch.Tensor) -> Dict:
        """Base detections for the images at ``index`` (none run if empty)."""
        if index.numel() == 0:
            return {}
        idx = index.tolist()
        preds, _ = self.branches['base'].predict([inputs[i] for i in idx],
                                                 [data_samples[i] for i in idx])
        return dict(zip(idx, preds))

    def _attach_report(self, data_samples: list, saver_preds: list, base_preds: Dict,
                       scores: torch.Tensor, feats: Optional[torch.Tensor]) -> None:
        """Analysis mode: both detectors' results and every policy's score."""
        policy = {rule: det_confidence([p.scores for p in saver_preds], rule, self.topk)
                  for rule in DET_EXIT_RULES}
        if self.evaluator is not None:
            shapes = [ds.metainfo['ori_shape'] for ds in data_samples]
            policy['evaluator'] = self.evaluator.score(
                self.evaluator.inputs(saver_preds, shapes, feats))
        for i, ds in enumerate(data_samples):
            ds.set_metainfo(dict(
                saver_instances=saver_preds[i], base_instances=base_preds[i],
                policy_scores={k: float(v[i]) for k, v in policy.items()},
                exit_rule=self.exit_rule, threshold=self.threshold))

    # ------------------------------------------------------------------- MACs
    def image_macs(self, img: torch.Tensor, data_sample) -> Dict[str, int]:
        """MACs of each part on one image (measured once per input shape).

        Each detector is measured alone (batch of one) at the shape its own
        transforms and preprocessor give an image of this shape, on a fixed
        noise image. mmengine's analysis does not count mmcv custom ops
        (NMS, RoIAlign...), nor the evaluator's feature extraction.

        Returns:
            dict[str, int]: ``saver``, ``base`` and, for
            ``exit_rule='evaluator'``, ``evaluator``.
        """
        shape = tuple(img.shape)
        out = {}
        for role in self.stage_names:
            key = (role, shape)
            if key not in self._macs:
                self._macs[key] = self._measure_branch(role, shape, data_sample)
            out[role] = self._macs[key]
        if self.exit_rule == 'evaluator':
            if 'evaluator' not in self._macs:
                x = torch.zeros(1, self.evaluator.in_channels,
                                device=self.evaluator.input_mean.device)
                self._macs['evaluator'] = measure_macs(self.evaluator, x)
            out['evaluator'] = self._macs['evaluator']
        return out

    def _measure_branch(self, role: str, shape: Tuple[int, ...], data_sample) -> int:
        gen = torch.Generator().manual_seed(0)
        noise = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
        branch = self.branches[role]
        from mmdet.structures import DetDataSample
        sample = DetDataSample(metainfo=dict(data_sample.metainfo))
        imgs, samples = branch.prepare([noise], [sample])
        x, samples = branch.preprocess(imgs, samples)
        return measure_macs(branch.model, x, samples)

    @torch.no_grad()
    def measure_stage_macs(self, inputs, data_samples=None) -> Dict[str, int]:
        """MACs per image of each part on the first image of a batch.

        Args:
            inputs: A raw batch.
            data_samples (list[DetDataSample]): Its samples (needed).

        Returns:
            dict[str, int]: MACs of the saver, evaluator (if used) and base.

        Raises:
            ValueError: Without data samples.
        """
        if not data_samples:
            raise ValueError('TinySaverDetector.measure_stage_macs needs the data '
                             'samples (image metainfo) of the batch.')
        return self.image_macs(inputs[0], data_samples[0])
