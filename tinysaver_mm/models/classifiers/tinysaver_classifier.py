"""TinySaverClassifier: a tiny saver answers the easy images, a base the rest."""
import copy
import itertools
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tinysaver_mm.core import (CONFIDENCE_RULES, check_threshold,
                               confidence_scores, route_batch)
from tinysaver_mm.utils import (load_checkpoint_strict, measure_macs,
                                resolve_stage_spec)
from .stage_probs import classifier_probs, preprocess

__all__ = ['TinySaverClassifier']

Inputs = Union[torch.Tensor, List[torch.Tensor]]


def _pack(sample: DataSample, score: torch.Tensor, label: torch.Tensor,
          meta: dict) -> None:
    """Write a prediction and metainfo into a data sample in one step.

    The same fields as ``set_pred_score(score).set_pred_label(label)`` and
    ``set_field(value, key, field_type='metainfo')`` per ``meta`` key
    (``num_classes`` included), without their per-call type checks or
    ``set_metainfo``'s deep copy: packing is a Python loop over the images,
    and its per-image cost weighs on a tiny saver's batches.

    Args:
        sample (DataSample): The image's data sample (new or from the loader).
        score (torch.Tensor): Class probabilities, shape (num_classes,).
        label (torch.Tensor): Predicted class, shape (1,).
        meta (dict): Metainfo fields to add.

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


def _take(inputs: Inputs, index: torch.Tensor) -> Inputs:
    """Rows ``index`` of a batch (a stacked tensor or a list of images)."""
    if isinstance(inputs, torch.Tensor):
        return inputs.index_select(0, index.to(inputs.device))
    return [inputs[i] for i in index.tolist()]


@MODELS.register_module()
class TinySaverClassifier(BaseClassifier):
    """A cascade of a tiny saver and a large base classifier (TinySaver).

    The saver sees every image; an image whose saver confidence is at least
    ``threshold`` exits with the saver's answer, the rest are sent (as one
    smaller batch) to the base, whose answer is final. The base never runs on
    a batch in which every image exited. With ``mids``, the images the saver
    passes on go through each middle model in turn, each with its own
    threshold, before the base.

    Each stage is built from its own config and keeps its own data
    preprocessor, so saver and base may normalise differently. The cascade's
    own preprocessor only collates and moves the raw batch; the
    ``data_preprocessor`` given to the cascade (e.g. merged by the Runner from
    a config's top level) is used for any stage that has none of its own.

    Args:
        saver (dict): The tiny model: ``dict(cfg_path=..., checkpoint=...,
            **overrides)`` or a model dict with ``type`` (and optionally
            ``checkpoint``).
        base (dict): The large model, in the same form.
        threshold (float | list[float]): Exit threshold in [0, 1]; with
            ``mids``, a list with one threshold per stage but the base.
            Defaults to 0.9.
        exit_rule (str): ``'max_prob'`` (the paper's rule), ``'margin'`` or
            ``'entropy'``. Defaults to ``'max_prob'``.
        mids (list[dict], optional): Middle stages (saver -> mids -> base),
            each in the same form as ``saver``; named ``mid0``, ``mid1``...
        data_preprocessor (dict, optional): Fallback preprocessor for stages
            without one.
        init_cfg (dict, optional): Unused by the cascade itself.

    Raises:
        ValueError: On a bad threshold or exit rule, a multi-label head,
            stages with different class counts, or a checkpoint that does not
            match its stage.
        FileNotFoundError: If a stage's checkpoint does not exist.
    """

    def __init__(self,
                 saver: dict,
                 base: dict,
                 threshold: Union[float, Sequence[float]] = 0.9,
                 exit_rule: str = 'max_prob',
                 mids: Optional[Sequence[dict]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg,
                         data_preprocessor=BaseDataPreprocessor())
        if exit_rule not in CONFIDENCE_RULES:
            raise ValueError(f'exit_rule={exit_rule!r} is unknown; choose one '
                             f'of {sorted(CONFIDENCE_RULES)}.')
        self.exit_rule = exit_rule
        specs = [('saver', saver)] + [(f'mid{i}', m) for i, m in enumerate(mids or [])]
        specs.append(('base', base))
        self.stage_names: Tuple[str, ...] = tuple(r for r, _ in specs)
        self.threshold = threshold
        self.checkpoints: Dict[str, Optional[str]] = {}
        used_default = False
        for role, spec in specs:
            cfg, ckpt = resolve_stage_spec(spec, role)
            if cfg.get('data_preprocessor') is None:
                if data_preprocessor is None:
                    print_log(f'TinySaverClassifier: the {role} has no '
                              'data_preprocessor, so its inputs are not '
                              'normalised.', 'current', logging.WARNING)
                else:
                    cfg['data_preprocessor'] = copy.deepcopy(data_preprocessor)
                    used_default = True
            setattr(self, role, self._build_stage(cfg, ckpt, role))
            self.checkpoints[role] = ckpt
        if data_preprocessor is not None and not used_default:
            print_log('TinySaverClassifier: the data_preprocessor given to the '
                      'cascade is not used: every stage has its own.',
                      'current', logging.INFO)
        self._check_class_counts()
        self._stage_macs: Dict[Tuple[str, Tuple[int, ...]], int] = {}

    @staticmethod
    def _build_stage(cfg: dict, checkpoint: Optional[str],
                     role: str) -> nn.Module:
        """Build one stage, refuse multi-label heads, load its checkpoint."""
        from mmpretrain.models.heads import MultiLabelClsHead
        model = MODELS.build(cfg)
        head = getattr(model, 'head', None)
        if isinstance(head, MultiLabelClsHead):
            raise ValueError(
                f'The {role} has a multi-label head ({type(head).__name__}); '
                'TinySaver exits on softmax confidence, which needs a '
                'single-label head. Use e.g. LinearClsHead for the ' + role + '.')
        if checkpoint is not None:
            load_checkpoint_strict(model, checkpoint, role)
        model.eval()
        return model

    def _check_class_counts(self) -> None:
        counts = {r: getattr(getattr(self, r), 'head', None) for r in self.stage_names}
        counts = {r: getattr(h, 'num_classes', None) for r, h in counts.items()}
        known = {r: n for r, n in counts.items() if n is not None}
        if len(set(known.values())) > 1:
            raise ValueError(
                'All stages must predict the same classes, but their heads '
                f'have num_classes {known}. Use a saver trained on the base\'s '
                'label set (same num_classes and class order).')

    @property
    def threshold(self) -> Union[float, List[float]]:
        """The exit threshold in [0, 1] (a list, one per stage but the base,
        when there are middle stages)."""
        return self._thresholds[0] if len(self._thresholds) == 1 else list(self._thresholds)

    @threshold.setter
    def threshold(self, value: Union[float, Sequence[float]]) -> None:
        want = len(self.stage_names) - 1
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) != want:
            raise ValueError(
                f'threshold={value!r}: this cascade {self.stage_names} needs '
                f'{want} threshold(s), one per stage but the base.')
        self._thresholds = [check_threshold(v) for v in values]

    def train(self, mode: bool = True) -> 'TinySaverClassifier':
        """Stages stay in eval mode: the cascade is for inference only."""
        super().train(mode)
        for role in self.stage_names:
            getattr(self, role).eval()
        return self

    def forward(self, inputs: Inputs, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'``: routed class probabilities; ``'predict'``: data samples.

        Raises:
            NotImplementedError: For ``mode='loss'``: train the saver and the
                base separately with ``tools/train.py``.
        """
        if mode == 'tensor':
            return self.route(inputs)[0]
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'loss':
            raise NotImplementedError(
                'TinySaverClassifier is an inference cascade of frozen models; '
                'train the saver and the base separately with tools/train.py '
                'and give their checkpoints to the cascade.')
        raise RuntimeError(f'Invalid mode "{mode}".')

    def stage_probs(self, role: str, inputs: Inputs) -> torch.Tensor:
        """Run one stage alone on a raw (sub-)batch.

        Args:
            role (str): A stage name, e.g. ``'saver'`` or ``'base'``.
            inputs: Raw images; the stage's own preprocessor is applied.

        Returns:
            torch.Tensor: Softmax probabilities (N, num_classes).
        """
        model = getattr(self, role)
        x = preprocess(model, inputs)
        key = (role, tuple(x.shape[1:]))
        if key not in self._stage_macs:
            self._stage_macs[key] = measure_macs(model, x[:1])
        return classifier_probs(model, x, role)

    def stage_macs(self, role: str) -> int:
        """MACs per image of one stage, measured at the input it really got.

        Raises:
            RuntimeError: If that stage has not run yet.
        """
        found = [m for (r, _), m in self._stage_macs.items() if r == role]
        if not found:
            raise RuntimeError(f'MACs of the {role} are measured on its first '
                               'batch; run the cascade (or measure_stage_macs) first.')
        return found[-1]

    @torch.no_grad()
    def measure_stage_macs(self, inputs: Inputs, data_samples=None) -> Dict[str, int]:
        """Measure every stage's MACs per image on the first image of a batch.

        Args:
            inputs: A raw batch, as the cascade's forward receives it.
            data_samples: Unused (the detector needs them).

        Returns:
            dict[str, int]: MACs per image for each stage.
        """
        one = inputs[:1]
        for role in self.stage_names:
            self.stage_probs(role, one)
        return {role: self.stage_macs(role) for role in self.stage_names}

    @torch.no_grad()
    def route(self, inputs: Inputs) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the cascade with real batch routing (see :func:`route_batch`).

        Args:
            inputs: A raw batch (N images).

        Returns:
            tuple: Class probabilities (N, num_classes) in batch order (on the
            stages' device: no copy to the host), the
            index of the stage that answered each image (N,), and the saver's
            confidence for each image (N,).
        """
        def run(stage: int, rows: Optional[torch.Tensor]) -> torch.Tensor:
            sub = inputs if rows is None else _take(inputs, rows)
            return self.stage_probs(self.stage_names[stage], sub)  # stays on its device

        return route_batch(run, lambda p: confidence_scores(p, self.exit_rule),
                           self._thresholds, len(inputs), self.stage_names)

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Predict with the cascade.

        Every returned sample carries ``pred_score``/``pred_label`` and the
        cascade fields ``exited`` (bool), ``answered_by`` (stage name),
        ``saver_confidence``, ``macs`` (MACs spent on this image),
        ``cascade_stages`` (stage names in order) and ``macs_<stage>`` (each
        stage's MACs per image), the last two for the metric.

        Args:
            inputs: A raw batch, as collated by the dataloader.
            data_samples (list[DataSample], optional): Annotations to fill.

        Returns:
            list[DataSample]: One per image, in batch order.
        """
        scores, answered_by, saver_conf = self.route(inputs)
        names = self.stage_names
        if not set(names) <= {r for r, _ in self._stage_macs}:  # a stage no image reached yet
            self.measure_stage_macs(inputs)
        stage_macs = [self.stage_macs(r) for r in names]
        spent = [float(m) for m in itertools.accumulate(stage_macs)]
        constant = dict(cascade_stages=names,
                        **{f'macs_{r}': m for r, m in zip(names, stage_macs)})
        device = inputs.device if isinstance(inputs, torch.Tensor) else inputs[0].device
        scores = scores.to(device)
        labels = scores.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for ds, score, label, stage, conf in zip(data_samples, scores, labels,
                                                 answered_by.tolist(), saver_conf.tolist()):
            _pack(ds, score, label, dict(exited=stage == 0, answered_by=names[stage],
                                         saver_confidence=conf, macs=spent[stage], **constant))
        return data_samples
