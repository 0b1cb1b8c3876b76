"""TinySaverClassifier: a tiny saver answers the easy images, a base the rest."""
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tinysaver_mm.core import CONFIDENCE_RULES, cascade_fields, confidence_scores
from tinysaver_mm.utils import measure_macs
from ..cascade import BaseCascade
from ..backends.deployed import deployed_parts
from .stage_probs import check_single_label, classifier_probs, preprocess, stage_inputs_of

__all__ = ['TinySaverClassifier', 'pack_predictions']

Inputs = Union[torch.Tensor, List[torch.Tensor]]


def _pack(sample: DataSample, score: torch.Tensor, label: torch.Tensor,
          meta: dict) -> None:
    """Write a prediction and metainfo into a data sample in one step.

    The same fields as ``set_pred_score(score).set_pred_label(label)`` and
    ``set_field(value, key, field_type='metainfo')`` per ``meta`` key
    (``num_classes`` included), without their per-call type checks or
    ``set_metainfo``'s deep copy: packing is a Python loop over the images,
    and its per-image cost weighs on a tiny saver's batches.

    Raises:
        AttributeError: If a name is already a field of the other kind.
        ValueError: If the sample's ``num_classes`` differs from the score's.
    """
    data = dict(pred_score=score, pred_label=label)
    num_classes = sample.__dict__.get('num_classes')
    if num_classes is None:
        meta = dict(meta, num_classes=len(score))
    elif num_classes != len(score):
        raise ValueError(f'the data sample has num_classes={num_classes} but the cascade '
                         f'predicts {len(score)} classes; use a dataset with the models\' '
                         'label set.')
    clash = sample._metainfo_fields.intersection(data) | sample._data_fields.intersection(meta)
    if clash:
        raise AttributeError(f'Cannot set {sorted(clash)} on the data sample: already fields '
                             'of the other kind (the cascade writes these names).')
    sample._data_fields.update(data)
    sample._metainfo_fields.update(meta)
    sample.__dict__.update(data)
    sample.__dict__.update(meta)


def pack_predictions(cascade: BaseCascade, inputs: Inputs,
                     data_samples: Optional[List[DataSample]], scores: torch.Tensor,
                     answered_by: torch.Tensor, exit_score: torch.Tensor,
                     extra: Optional[Callable[[int, dict], dict]] = None) -> List[DataSample]:
    """Write a classification cascade's routed outputs into data samples.

    Each sample gets ``pred_score``/``pred_label`` and the cascade fields of
    :mod:`tinysaver_mm.core.fields` over the cascade's routing steps
    (:attr:`~BaseCascade.route_names`), with the MACs of every part measured
    by :meth:`~BaseCascade.image_macs`.

    Args:
        cascade (BaseCascade): The cascade that routed the batch.
        inputs: The raw batch.
        data_samples (list[DataSample], optional): Annotations to fill.
        scores (Tensor): Routed class probabilities (N, num_classes).
        answered_by (Tensor): Index of the step that answered each image (N,).
        exit_score (Tensor): The saver's exit score per image (N,).
        extra (callable, optional): ``(step, part_macs) -> dict`` of further
            metainfo fields for an image answered at ``step``.

    Returns:
        list[DataSample]: One per image, in batch order.
    """
    macs = cascade.image_macs(inputs)
    device = inputs.device if isinstance(inputs, torch.Tensor) else inputs[0].device
    scores = scores.to(device)
    labels = scores.argmax(dim=1, keepdim=True)
    if data_samples is None:
        data_samples = [DataSample() for _ in range(len(scores))]
    fields = {}  # per (MACs entry, step): images of one shape share both
    for ds, score, label, stage, conf, m in zip(data_samples, scores, labels,
                                                answered_by.tolist(), exit_score.tolist(),
                                                macs):
        key = (id(m), stage)
        if key not in fields:
            fields[key] = cascade_fields(cascade.route_names, stage, 0.0, m,
                                         cascade.overheads)
            if extra is not None:
                fields[key].update(extra(stage, m))
        _pack(ds, score, label, dict(fields[key], exit_score=conf))
    return data_samples


@MODELS.register_module()
class TinySaverClassifier(BaseCascade, BaseClassifier):
    """A cascade of a tiny saver and a large base classifier (TinySaver).

    The saver sees every image; an image whose saver confidence is at least
    ``threshold`` exits with the saver's answer, the rest are sent (as one
    smaller batch) to the base, whose answer is final. With ``mids``, the
    images the saver passes on go through each middle model in turn, each
    with its own threshold, before the base. Each stage keeps its own data
    preprocessor; the cascade's own only collates the raw batch. Building,
    thresholds, routing and MACs are :class:`BaseCascade`'s.

    Args:
        saver (dict): ``dict(cfg_path=..., checkpoint=..., **overrides)`` or a
            model dict with ``type`` (and optionally ``checkpoint``).
        base (dict): The large model, in the same form.
        threshold (float | list[float] | str): Exit threshold in [0, 1] (one
            per stage but the base with ``mids``), or a calibration JSON
            written by ``tools/calibrate.py``. Defaults to 0.9.
        exit_rule (str): ``'max_prob'`` (the paper's rule), ``'margin'``,
            ``'entropy'`` or ``'evaluator'`` (the learned exit score of
            ``evaluator``). Defaults to ``'max_prob'``, or ``'evaluator'``
            when an evaluator is given.
        mids (list[dict], optional): Middle stages, named ``mid0``, ``mid1``...
            (scored by ``max_prob`` under ``exit_rule='evaluator'``).
        evaluator (dict, optional): ``dict(type='TinySaverClsEvaluatorHead',
            num_classes=..., checkpoint=...)``, trained for this saver by
            ``tools/train_evaluator.py``; ``threshold=None`` then takes the
            threshold calibrated into its checkpoint.
        backend (str): How a stage runs on its rows: ``'pytorch'`` (eager,
            the default) or ``'onnxruntime'`` (the ``.onnx`` files of
            ``deploy_dir``, written by ``tools/deploy.py``; the PyTorch stages
            are still built, for MACs and to check the manifest against).
        deploy_dir (str, optional): The deployment directory, with
            ``backend='onnxruntime'``.
        data_preprocessor (dict, optional): For stages without one.
        init_cfg (dict, optional): Unused by the cascade itself.

    Raises:
        ValueError: On a bad threshold or exit rule, a multi-label head,
            stages with different class counts, or a checkpoint that does not
            match its stage; an unknown backend; a deployment manifest of
            another cascade or an ONNX file whose SHA-256 differs from it.
        FileNotFoundError: If a stage's checkpoint or a deployed file does
            not exist.
        ImportError: With ``backend='onnxruntime'`` when onnxruntime is not
            installed.
    """

    exit_rules = tuple(CONFIDENCE_RULES) + ('evaluator', )
    stage_registry, stage_scope = MODELS, 'mmpretrain'
    train_hint = ('train the saver and the base separately with tools/train.py and give '
                  'their checkpoints to the cascade.')

    def __init__(self, saver: dict, base: dict,
                 threshold: Union[float, Sequence[float], str, None] = 0.9,
                 exit_rule: Optional[str] = None, mids: Optional[Sequence[dict]] = None,
                 evaluator: Optional[dict] = None, backend: str = 'pytorch',
                 deploy_dir: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=BaseDataPreprocessor())
        exit_rule = exit_rule or ('evaluator' if evaluator is not None else 'max_prob')
        self.init_cascade(saver, base, mids, None, exit_rule, data_preprocessor)
        self.init_evaluator(evaluator, threshold)
        self.use_backend(backend, deploy_dir)

    def use_backend(self, backend: str, deploy_dir: Optional[str] = None) -> None:
        """Run the stages with ``backend`` from now on (see the class's Args).

        Raises:
            ValueError, ImportError: As the constructor, for these two arguments.
        """
        self._deployed = deployed_parts(self, backend, deploy_dir)
        self.backend, self.deploy_dir = backend, deploy_dir

    def build_stage(self, cfg: dict, role: str) -> nn.Module:
        """Build one classifier; refuse multi-label heads (softmax exits need one label)."""
        return check_single_label(super().build_stage(cfg, role), role)

    def stage_inputs(self, role: str, inputs: Inputs, data_samples=None):
        """The stage's own preprocessing of raw images (see :func:`stage_inputs_of`)."""
        return stage_inputs_of(getattr(self, role), role, inputs), data_samples

    def stage_probs(self, role: str, inputs: Inputs) -> torch.Tensor:
        """Softmax probabilities (N, num_classes) of one stage alone on raw images."""
        return classifier_probs(getattr(self, role), preprocess(getattr(self, role), inputs),
                                role)

    def run_stage(self, role: str, inputs: Inputs, data_samples=None) -> torch.Tensor:
        if role in self._deployed:  # the exported graph folds the preprocessor in
            return self._deployed[role](inputs)
        return self.stage_probs(role, inputs)  # stays on the stages' device

    def exit_scores(self, role: str, outputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """The rule's confidence; the evaluator's score for the saver under 'evaluator'."""
        if self.exit_rule != 'evaluator':
            return confidence_scores(outputs, self.exit_rule)
        if role != 'saver':
            return confidence_scores(outputs, 'max_prob')
        if 'evaluator' in self._deployed:
            return self._deployed['evaluator'](outputs)
        return self.evaluator.score(self.evaluator.inputs(outputs)).to(outputs.device)

    def measure_part(self, part: str, img: torch.Tensor, data_sample=None) -> int:
        model = getattr(self, part)
        return measure_macs(model, preprocess(model, img[None] if torch.is_tensor(img)
                                              else [img]))

    def _forward(self, inputs: Inputs, data_samples=None) -> torch.Tensor:
        """Tensor mode: the routed class probabilities (N, num_classes); a traced
        forward (a complexity analysis) says which path it counted."""
        probs, answered_by, _ = self.route(inputs)
        self._traced_route(answered_by)
        return probs

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Predict with the cascade.

        Every returned sample carries ``pred_score``/``pred_label`` and the
        cascade fields of :mod:`tinysaver_mm.core.fields`.

        Args:
            inputs: A raw batch, as collated by the dataloader.
            data_samples (list[DataSample], optional): Annotations to fill.

        Returns:
            list[DataSample]: One per image, in batch order.
        """
        if self.batch_size_of(inputs, data_samples) == 0:
            return []
        return pack_predictions(self, inputs, data_samples, *self.route(inputs))
