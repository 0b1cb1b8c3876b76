"""TinySaverSegmentor: a tiny saver segmentor answers the easy images, a base the rest."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from tinysaver_mm.core import SEG_EXIT_RULES, cascade_fields, check_quantile, seg_confidence
from tinysaver_mm.utils import measure_macs
from ..cascade import BaseCascade
from .seg_report import attach_seg_report

__all__ = ['TinySaverSegmentor', 'slide_crop_count']

Inputs = Union[torch.Tensor, List[torch.Tensor]]

# decode heads whose ``seg_logits`` are not per-pixel class logits (mask classification)
_MASK_CLASSIFICATION_HEADS = ('MaskFormerHead', 'Mask2FormerHead')


def slide_crop_count(shape: Tuple[int, int], crop_size: Sequence[int],
                     stride: Sequence[int]) -> Tuple[int, Tuple[int, int]]:
    """Crops mmseg's ``slide_inference`` runs on an input of ``shape``, and their size.

    Returns:
        tuple: The number of crops and the (h, w) of each (smaller than
        ``crop_size`` when the input is).
    """
    (h, w), (h_crop, w_crop), (h_stride, w_stride) = shape, crop_size, stride
    h_grids = max(h - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(w - w_crop + w_stride - 1, 0) // w_stride + 1
    return h_grids * w_grids, (min(h_crop, h), min(w_crop, w))


def _not_per_pixel(model: nn.Module) -> Optional[str]:
    """Why a segmentor's ``seg_logits`` are not per-pixel class logits (None if they are)."""
    heads = model.decode_head if isinstance(model.decode_head, nn.ModuleList) \
        else [model.decode_head]
    for head in heads:
        found = {c.__name__ for c in type(head).__mro__} & set(_MASK_CLASSIFICATION_HEADS)
        if found:
            return (f'its decode head is a mask-classification head ({type(head).__name__}): '
                    'its seg_logits are sums of query-probability products, not logits')
    if int(model.out_channels) == 1:
        return ('it has a binary head (out_channels=1): its seg_logits are one sigmoid '
                'probability per pixel, not a softmax over classes')
    return None


@MODELS.register_module()
class TinySaverSegmentor(BaseCascade, BaseSegmentor):
    """A cascade of a tiny saver segmentor, optional middle ones, and a base segmentor.

    The saver segments every image with its own ``predict`` (its own data
    preprocessor, ``test_cfg`` whole or slide, and ``align_corners``), giving
    ``seg_logits`` at the original size. Its exit score per image aggregates
    the per-pixel softmax confidence over the image (see
    :mod:`tinysaver_mm.core.seg_confidence`); images scoring at least the
    threshold keep the saver's masks, the rest go on as one smaller batch to
    the next stage, and the base's masks are final. Every stage gets its own
    copies of the data samples (mmseg's preprocessor writes padding into
    them). Images of different sizes in one batch run as one sub-batch per
    size (mmseg's preprocessor stacks one size only). Predictions are the
    input ``SegDataSample``s with the answering stage's ``pred_sem_seg`` and
    ``seg_logits`` (``IoUMetric`` works unchanged) and the cascade fields of
    :mod:`tinysaver_mm.core.fields`. ``num_classes``, ``out_channels``,
    ``align_corners`` and ``decode_head`` are the base's, for mmseg's tools.

    Args:
        saver (dict): ``dict(cfg_path='mmseg::...' or a file, checkpoint=...,
            **overrides)`` or an mmseg segmentor dict with ``type``.
        base (dict): The large segmentor, in the same form.
        threshold (float | list[float] | str): Exit threshold(s) in [0, 1]
            or a calibration JSON. Defaults to 0.9.
        exit_rule (str, optional): ``'mean_max_prob'``, ``'quantile_max_prob'``,
            ``'mean_entropy'`` or ``'evaluator'``. Defaults to ``'evaluator'``
            with an evaluator, else ``'mean_max_prob'``.
        quantile (float): The pixel quantile ``'quantile_max_prob'`` takes.
            Defaults to 0.1.
        mids (list[dict], optional): Middle segmentors, named ``mid0``...
        evaluator (dict, optional): ``dict(type='TinySaverSegEvaluatorHead',
            num_classes=..., checkpoint=...)``: the learned exit head trained
            for this saver by ``tools/train_evaluator.py`` on segmentation
            records; with it ``exit_rule`` defaults to ``'evaluator'`` and
            ``threshold=None`` takes the threshold calibrated into its
            checkpoint. Middle stages are scored by ``mean_max_prob`` then.
        report (bool): Analysis mode for ``TinySaverSegReport``: the base also
            runs on the images that exited and every policy's score is
            written (predictions, exit ratio and MACs stay the routed
            cascade's). Defaults to False.
        data_preprocessor (dict, optional): For segmentors without their own.
        train_cfg (dict, optional): Accepted for mmseg's tools; must be
            empty (the cascade does not train).
        test_cfg (dict, optional): Accepted for mmseg's tools; must be
            empty (each stage has its own ``test_cfg``).
        init_cfg (dict, optional): Unused by the cascade itself.
        backend (str): How a stage runs: ``'pytorch'`` (default) or
            ``'onnxruntime'``: each segmentor's backbone and decode head from
            ``deploy_dir`` (``tools/deploy.py``), run inside mmseg's own
            whole/slide inference (the logits' resize, slide crops and their
            average, unpadding and argmax stay in Python, as do each stage's
            preprocessor, the exit rule or evaluator and the routing).
        deploy_dir (str, optional): The deployment directory.
        pretrained (str, optional): Accepted for mmseg's tools (``init_model``
            and ``benchmark.py`` set ``model.pretrained = None``); must be
            None (each stage loads its own checkpoint).

    Raises:
        ValueError: On a bad threshold, rule or quantile, an evaluator for
            another saver or class count (or ``'evaluator'`` without one), a
            non-empty train/test cfg or ``pretrained``, segmentors with different class
            counts, a scored stage that is not per-pixel, or a checkpoint
            that does not match its model.
    """

    exit_rules = tuple(sorted(SEG_EXIT_RULES)) + ('evaluator', )
    stage_registry, stage_scope = MODELS, 'mmseg'
    deploy_task = 'segmentation'
    train_hint = 'train the saver and the base separately with tools/train.py.'
    recalibrate_hint = (
        'python tools/record.py CONFIG --split holdout --cfg-options <the same overrides>, then '
        'python tools/train_evaluator.py records/<config name>_holdout_seg.npz --out NEW.pth '
        '--max-drop 0.01, and give model.evaluator.checkpoint=NEW.pth threshold=None (for the '
        'demo, bash tools/train_seg_evaluator.sh does both with its config).')

    def __init__(self, saver: dict, base: dict,
                 threshold: Union[float, Sequence[float], str] = 0.9,
                 exit_rule: Optional[str] = None, quantile: float = 0.1,
                 mids: Optional[Sequence[dict]] = None, evaluator: Optional[dict] = None,
                 report: bool = False,
                 data_preprocessor: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 backend: str = 'pytorch', deploy_dir: Optional[str] = None,
                 pretrained: Optional[str] = None):
        super().__init__(data_preprocessor=BaseDataPreprocessor(), init_cfg=init_cfg)
        if pretrained is not None:
            raise ValueError(
                f'pretrained={pretrained!r}: TinySaverSegmentor has no backbone of its own; '
                "each stage loads its own weights. Give them as the stage's checkpoint, e.g. "
                "base=dict(cfg_path=..., checkpoint=...), or a whole-cascade checkpoint "
                '(tools/merge_cascade.py) to the tool.')
        self.refuse_own_cfgs(train_cfg=train_cfg, test_cfg=test_cfg)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.quantile = check_quantile(quantile)
        self.report = bool(report)
        exit_rule = exit_rule or ('evaluator' if evaluator is not None else 'mean_max_prob')
        self.init_cascade(saver, base, mids, None, exit_rule, data_preprocessor)
        self.init_evaluator(evaluator, threshold)
        self.use_backend(backend, deploy_dir)

    def use_backend(self, backend: str, deploy_dir: Optional[str] = None) -> None:
        """Run the segmentors' graphs with ``backend`` from now on (see Args).

        Raises:
            ValueError: On an unknown backend, a missing ``deploy_dir`` or a
                manifest of another cascade; ImportError without onnxruntime.
        """
        from ..backends.deployed import deployed_parts
        self._sessions = deployed_parts(self, backend, deploy_dir, with_evaluator=False)
        self.backend, self.deploy_dir = backend, deploy_dir

    # ------------------------------------------------------------------ build
    def build_stage(self, cfg: dict, role: str) -> nn.Module:
        """Build one segmentor; refuse what the cascade cannot run or score.

        Raises:
            TypeError: If the model is not an mmseg segmentor.
            ValueError: If it has no data preprocessor, no whole/slide
                ``test_cfg``, or it is scored (every stage but the base) and
                its outputs are not per-pixel class logits.
        """
        if cfg.get('data_preprocessor') is None:
            raise ValueError(
                f'The {role} has no data_preprocessor (mmseg stacks and normalises a '
                f"segmentor's images there). Give it one, e.g. dict(type='SegDataPreProcessor', "
                'mean=..., std=..., bgr_to_rgb=...) as it was trained with, or give the cascade '
                'data_preprocessor=... for its stages without one.')
        model = MODELS.build(cfg)
        if not isinstance(model, BaseSegmentor) or not hasattr(model, 'decode_head'):
            raise TypeError(f'The {role} is a {type(model).__name__}, not an mmseg '
                            'encoder-decoder segmentor (with a decode_head).')
        mode = None if model.test_cfg is None else model.test_cfg.get('mode', 'whole')
        if mode not in ('whole', 'slide'):
            raise ValueError(
                f"The {role} has test_cfg={model.test_cfg!r}; mmseg runs test_cfg mode "
                "'whole' or 'slide' (e.g. test_cfg=dict(mode='whole')).")
        problem = None if role == 'base' else _not_per_pixel(model)
        if problem:
            raise ValueError(
                f'The {role} ({type(model.decode_head).__name__}) cannot be scored by '
                f'exit_rule={self.exit_rule!r}: {problem}. The confidence rules need a '
                'softmax over per-pixel class logits; use a segmentor with a per-pixel '
                'decode head (FCNHead, SegformerHead, PIDHead...) for this stage.')
        return model

    @staticmethod
    def stage_num_classes(model: nn.Module) -> Optional[int]:
        n = getattr(model, 'num_classes', None)
        return None if n is None else int(n)

    # -------------------------------------------------- what mmseg tools read
    @property
    def decode_head(self) -> nn.Module:
        """The base's decode head (mmseg's tools and ``postprocess_result`` read it)."""
        return getattr(self, self.tensor_stage).decode_head

    @property
    def out_channels(self) -> int:
        return getattr(self, self.tensor_stage).out_channels

    @property
    def align_corners(self) -> bool:
        return getattr(self, self.tensor_stage).align_corners

    def encode_decode(self, inputs: Inputs, batch_img_metas: List[dict]) -> torch.Tensor:
        """The base's ``encode_decode`` on its own preprocessing of raw images."""
        x, _ = self.stage_inputs(self.tensor_stage, inputs)
        return getattr(self, self.tensor_stage).encode_decode(x, batch_img_metas)

    # ----------------------------------------------------------- task methods
    @staticmethod
    def _shapes(inputs: Inputs) -> List[Tuple[int, ...]]:
        return [tuple(img.shape) for img in inputs]

    def stage_inputs(self, role: str, inputs: Inputs, data_samples=None
                     ) -> Tuple[torch.Tensor, List[SegDataSample]]:
        """A stage's own preprocessor on raw images of one size, with its own samples.

        Raises:
            ValueError: If the images differ in size.
        """
        shapes = self._shapes(inputs)
        if len(set(shapes)) > 1:
            raise ValueError(f'The images of this batch differ in size ({sorted(set(shapes))}); '
                             "a segmentor's preprocessor stacks one size. Give one size per "
                             'batch (or use predict, which runs one sub-batch per size).')
        if data_samples is None:
            samples = [SegDataSample(metainfo=dict(ori_shape=s[-2:], img_shape=s[-2:],
                                                   pad_shape=s[-2:])) for s in shapes]
        else:  # the stage's own copies: its preprocessor and predict write into them
            samples = [SegDataSample(metainfo=ds.metainfo) for ds in data_samples]
        data = getattr(self, role).data_preprocessor(
            {'inputs': inputs if torch.is_tensor(inputs) else list(inputs),
             'data_samples': samples}, False)
        return data['inputs'], data['data_samples']

    def run_stage(self, role: str, inputs: Inputs, data_samples=None) -> List[SegDataSample]:
        """The stage's own ``predict`` (masks and logits at the original size), per size."""
        groups: Dict[Tuple[int, ...], List[int]] = {}
        for i, shape in enumerate(self._shapes(inputs)):
            groups.setdefault(shape, []).append(i)
        outputs: List[Optional[SegDataSample]] = [None] * len(inputs)
        for rows in groups.values():
            imgs = inputs if len(groups) == 1 else [inputs[i] for i in rows]
            samples = None if data_samples is None else [data_samples[i] for i in rows]
            x, samples = self.stage_inputs(role, imgs, samples)
            for i, pred in zip(rows, self._stage_predict(role, x, samples)):
                outputs[i] = pred
        return outputs

    def _stage_predict(self, role: str, x: torch.Tensor, samples: List[SegDataSample]
                       ) -> List[SegDataSample]:
        """The stage's own ``predict``; on a deployed backend, mmseg's whole/slide
        inference with each ``encode_decode`` answered by the exported graph."""
        model = getattr(self, role)
        session = self._sessions.get(role)
        if session is None:
            return model.predict(x, samples)

        def encode_decode(inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
            return model.decode_head.predict_by_feat(session(inputs), batch_img_metas)

        model.encode_decode = encode_decode  # shadows the method for this call only
        try:
            return model.predict(x, samples)
        finally:
            del model.encode_decode

    def exit_scores(self, role: str, outputs: List[SegDataSample], data_samples=None
                    ) -> torch.Tensor:
        """The rule's image score; the evaluator's for the saver under 'evaluator'."""
        if self.exit_rule == 'evaluator' and role == 'saver':
            return self.evaluator_scores(outputs)
        rule = 'mean_max_prob' if self.exit_rule == 'evaluator' else self.exit_rule
        return seg_confidence([o.seg_logits.data for o in outputs], rule, self.quantile)

    def evaluator_scores(self, outputs: List[SegDataSample]) -> torch.Tensor:
        """The evaluator head's exit score of the saver's masks on each image."""
        probs = [o.seg_logits.data.float().softmax(0) for o in outputs]
        return self.evaluator.score(self.evaluator.inputs(probs))

    def measure_part(self, part: str, img: torch.Tensor, data_sample=None) -> int:
        """Tensor-mode MACs at the stage's padded input; in slide mode crops x per crop."""
        model = getattr(self, part)
        gen = torch.Generator().manual_seed(0)
        noise = torch.randint(0, 256, tuple(img.shape), generator=gen).to(img.dtype)
        x, _ = self.stage_inputs(part, [noise.to(img.device)],
                                 None if data_sample is None else [data_sample])
        if model.test_cfg.get('mode', 'whole') == 'whole':
            return measure_macs(model, x)
        crops, (h, w) = slide_crop_count(tuple(x.shape[-2:]), model.test_cfg.crop_size,
                                         model.test_cfg.stride)
        return crops * measure_macs(model, x[..., :h, :w])

    # ---------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(self, inputs: Inputs,
                data_samples: Optional[List[SegDataSample]] = None) -> List[SegDataSample]:
        """Segment with the cascade.

        Args:
            inputs: Raw images (a list of (C, H, W) tensors, or a stacked
                batch), as the cascade's dataloader collates them.
            data_samples (list[SegDataSample], optional): Their samples
                (with ``ori_shape``); without them, masks are at input size.

        Returns:
            list[SegDataSample]: ``data_samples`` (new ones without) with the
            answering stage's ``pred_sem_seg`` and ``seg_logits`` and the
            cascade fields.
        """
        if self.batch_size_of(inputs, data_samples) == 0:
            return []
        self.ensure_fingerprints()
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=s[-2:], img_shape=s[-2:],
                                                        pad_shape=s[-2:]))
                            for s in self._shapes(inputs)]
        routed = self.route(inputs, data_samples, keep_first=self.report)
        outputs, answered_by, scores = routed[:3]
        for ds, out, stage, score, macs in zip(data_samples, outputs, answered_by.tolist(),
                                               scores.tolist(),
                                               self.image_macs(inputs, data_samples)):
            ds.set_data(dict(seg_logits=out.seg_logits, pred_sem_seg=out.pred_sem_seg))
            ds.set_metainfo(cascade_fields(self.stage_names, stage, score, macs,
                                           self.overheads))
        if self.report:
            attach_seg_report(self, inputs, data_samples, routed[3], outputs, answered_by)
        return data_samples
