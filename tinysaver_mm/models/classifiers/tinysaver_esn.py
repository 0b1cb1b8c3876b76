"""TinySaverESN: the Exit Sequence Network, exits inside the base fed by the saver."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tinysaver_mm.core import confidence_scores
from tinysaver_mm.utils import measure_macs
from ..backbones.stage_adapters import stage_adapter
from ..cascade import BaseCascade
from ..heads.esn_exits import ESNExits
from .stage_probs import check_single_label, preprocess, stage_inputs_of
from .tinysaver_classifier import pack_predictions

__all__ = ['TinySaverESN']

Inputs = Union[torch.Tensor, List[torch.Tensor]]

#: keys of ``exits=dict(...)`` (``dim`` and ``after`` are required)
EXIT_KEYS = ('dim', 'num_attn_layers', 'after', 'saver_token', 'num_heads', 'mlp_ratio',
             'checkpoint')


def _pooled(feature: torch.Tensor) -> torch.Tensor:
    """A feature globally pooled to (N, C) (already pooled features as they are)."""
    return feature.mean((2, 3)) if feature.dim() == 4 else feature.flatten(1)


class _StepProbe(nn.Module):
    """One routing step of an ESN on one preprocessed image, for mmengine's MACs count.

    The frozen state the step resumes from is computed beforehand (untraced),
    so the trace holds exactly what the step runs.
    """

    def __init__(self, cascade: 'TinySaverESN', step: int, state: Optional[dict]):
        super().__init__()
        self.base, self.exits = cascade.base, cascade.exits  # traced parameters
        self.__dict__['_run'] = lambda x: cascade.run_step(step, x, state)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)


@MODELS.register_module()
class TinySaverESN(BaseCascade, BaseClassifier):
    """An Exit Sequence Network (ESN): a saver, then exits inside the base.

    The saver sees every image and is exit 0: an image whose saver
    confidence (max softmax probability) is at least ``threshold[0]`` exits
    with the saver's answer. The others enter the base, which runs stage by
    stage on the rows still in flight (through an explicit stage adapter of
    its backbone family, see
    :func:`~tinysaver_mm.models.backbones.stage_adapter`). After each base
    stage listed in ``exits['after']``, exit ``j`` answers: its token (that
    stage's output globally pooled, LayerNorm'd and projected to ``dim``)
    joins the saver's token and the earlier exits' tokens in pre-norm causal
    self-attention blocks (token ``j`` sees tokens ``<= j``), and its logits
    are a linear head on its token plus the saver's logits. Rows whose exit
    confidence reaches ``threshold[j]`` leave; the rest continue as one
    smaller batch. The base's own neck and head (the last exit) answer what
    reaches the end.

    Routing steps (:attr:`route_names`, the ``cascade_stages`` of every
    prediction): ``'saver'``, ``'exit1'``, ..., ``'exitK'``, ``'base'``. The
    MACs of step ``exitj`` are those of the base stages run since the
    previous step plus the exit modules of exit ``j``: its token, the causal
    blocks over the tokens so far (run again at each exit, no cache) and
    its head (the saver's token is embedded at ``exit1``, where the first
    rows need it); those of
    ``'base'`` the remaining stages, neck and head. Besides the cascade
    fields of :mod:`tinysaver_mm.core.fields`, every prediction carries
    ``exited_at`` (the exit index: 0 the saver, ``K + 1`` the base head) and
    ``macs_base_alone`` (what the plain base costs, the reference of
    ``TinySaverMetric``'s ``macs_saved_pct``).

    Args:
        saver (dict): ``dict(cfg_path=..., checkpoint=..., **overrides)`` or a
            model dict with ``type`` (and optionally ``checkpoint``); built,
            loaded strictly and frozen as a ``TinySaverClassifier``'s stage.
        base (dict): The large classifier, in the same form; its backbone
            must have a stage adapter (mmpretrain ``ResNet``/``ResNet_CIFAR``,
            ``ConvNeXt``, ``SwinTransformer``).
        exits (dict): The trainable exit modules: ``dim`` (token width,
            required), ``after`` (base stage indices, 0-based and
            increasing, after which an exit answers; required),
            ``num_attn_layers`` (causal blocks, default 1), ``num_heads``
            (default 1, dividing ``dim``), ``mlp_ratio`` (default 2),
            ``saver_token`` (default True; False is the ablation: plain
            attached exits, no saver token and no saver logits added) and
            ``checkpoint`` (their weights, loaded strictly; optional).
        threshold (Sequence[float]): One per exit but the last: the saver's
            then one per ``after`` stage (``[t_saver, t_exit1, ...]``), each in
            [0, 1]; a value above 1 turns that exit off. Or a calibration
            JSON holding ``thresholds``.
        exit_rule (str): Only ``'max_prob'`` (every exit's confidence is its
            max softmax probability); accepted so a ``TinySaverClassifier``
            config can be inherited.
        data_preprocessor (dict, optional): For stages without one.
        init_cfg (dict, optional): Unused by the cascade itself.
        backend (str): Only ``'pytorch'``: an ESN has no ONNX Runtime backend
            (accepted so a ``TinySaverClassifier`` override is answered by
            name).
        deploy_dir (str, optional): Must be None (nothing is deployed).

    Raises:
        ValueError: On ``backend`` other than ``'pytorch'`` (or a
            ``deploy_dir``), a base backbone without a stage adapter, an ``after``
            index out of range or not increasing, thresholds of the wrong
            count or outside [0, 1] (and not above 1), ``dim``/layer counts
            that are not positive integers, an unknown ``exits`` key, a
            multi-label head, stages with different class counts, or a
            checkpoint that does not match its part.
        FileNotFoundError: If a checkpoint does not exist.
    """

    exit_rules = ('max_prob', )
    stage_registry, stage_scope = MODELS, 'mmpretrain'
    carries_state = True
    thresholds_may_be_off = True
    train_hint = 'only its exits train.'

    def __init__(self, saver: dict, base: dict, exits: dict,
                 threshold: Union[Sequence[float], str], exit_rule: str = 'max_prob',
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 backend: str = 'pytorch', deploy_dir: Optional[str] = None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=BaseDataPreprocessor())
        if backend != 'pytorch' or deploy_dir is not None:
            raise ValueError(
                f'TinySaverESN(backend={backend!r}, deploy_dir={deploy_dir!r}): an ESN runs on '
                "PyTorch only (backend='pytorch', no deploy_dir). What an ONNX Runtime backend "
                'needs is not written: its base runs stage by stage with exits in between, so '
                'it needs one graph per base stage (between exits) and per exit module, and '
                'tools/deploy.py exports whole stages only (a TinySaverClassifier\'s or '
                "TinySaverDetector's, a TinySaverSegmentor's). Remove model.backend/"
                'model.deploy_dir, or deploy the two-stage TinySaverClassifier of the same '
                'saver and base.')
        self.backend, self.deploy_dir = backend, deploy_dir
        exits = self._check_exit_keys(exits)
        self.init_cascade(saver, base, None, None, exit_rule, data_preprocessor,
                          train_part='exits')
        self.adapter = stage_adapter(self.base.backbone, 'base')
        self.after = self._check_after(exits.pop('after'))
        saver_token = exits.pop('saver_token', True)
        checkpoint = exits.pop('checkpoint', None)
        widths = [self.saver_width()] if saver_token is True else []
        widths += [self.adapter.channels(i) for i in self.after]
        self.exits = ESNExits(widths, self.num_classes, use_saver_token=saver_token, **exits)
        self.load_part(self.exits, checkpoint, 'exits', trainable=True)
        self.bind_to_stage('exits', ('saver', 'base'))
        self.threshold = threshold

    # ------------------------------------------------------------------ build
    @staticmethod
    def _check_exit_keys(exits: Any) -> dict:
        """``exits`` as a new dict with its required keys, refusing unknown ones."""
        if not isinstance(exits, dict):
            raise TypeError(f'exits must be a dict (dim=..., after=[...], ...), got '
                            f'{type(exits).__name__}.')
        unknown = sorted(set(exits) - set(EXIT_KEYS))
        if unknown:
            raise ValueError(f'exits has unknown key(s) {unknown}; the keys are '
                             f'{list(EXIT_KEYS)}.')
        missing = [k for k in ('dim', 'after') if k not in exits]
        if missing:
            raise ValueError(f'exits needs {missing}: e.g. exits=dict(dim=64, after=[0, 1, 2]).')
        return dict(exits)

    def _check_after(self, after: Any) -> Tuple[int, ...]:
        """The base stages exits follow, validated against the base's stage count."""
        n = self.adapter.num_stages
        fix = (f'give increasing 0-based indices of the base\'s {n} stages, e.g. '
               f'exits.after={list(range(n - 1))}')
        if not isinstance(after, (list, tuple)) or not after or any(
                isinstance(i, bool) or not isinstance(i, int) for i in after):
            raise ValueError(f'exits.after={after!r} must be a non-empty list of stage '
                             f'indices; {fix}.')
        bad = [i for i in after if not 0 <= i < n]
        if bad:
            raise ValueError(f'exits.after={list(after)}: stage index(es) {bad} out of range '
                             f'for a base {type(self.base.backbone).__name__} with {n} stages '
                             f'(0..{n - 1}); {fix}.')
        if any(b <= a for a, b in zip(after, after[1:])):
            raise ValueError(f'exits.after={list(after)} is not strictly increasing; {fix}.')
        return tuple(after)

    def build_stage(self, cfg: dict, role: str) -> nn.Module:
        """Build one classifier; refuse multi-label heads (softmax exits need one label)."""
        return check_single_label(super().build_stage(cfg, role), role)

    def saver_width(self) -> int:
        """Width of the saver's token feature: its head's input (the pooled last map).

        Raises:
            ValueError: If the saver's head does not say its ``in_channels``.
        """
        width = getattr(getattr(self.saver, 'head', None), 'in_channels', None)
        if not isinstance(width, int):
            raise ValueError('The saver\'s head has no in_channels, so the width of its '
                             'token is unknown; use a saver with an mmpretrain classification '
                             'head (e.g. LinearClsHead), or exits.saver_token=False.')
        return width

    @property
    def route_names(self) -> Tuple[str, ...]:
        """``'saver'``, ``'exit1'``... one per ``after`` stage, then ``'base'``."""
        return ('saver', ) + tuple(f'exit{j}' for j in range(1, len(self.after) + 1)) + \
            ('base', )

    # ---------------------------------------------------------------- running
    def stage_inputs(self, role: str, inputs: Inputs, data_samples=None):
        """The stage's own preprocessing of raw images (see :func:`stage_inputs_of`)."""
        return stage_inputs_of(getattr(self, role), role, inputs), data_samples

    def saver_forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The saver on its preprocessed batch: (pooled token feature, logits)."""
        feats = self.saver.extract_feat(x)
        logits = self.saver.head(feats)
        if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
            raise ValueError('The saver head must return logits of shape (N, num_classes), '
                             f'got {type(logits).__name__}.')
        return _pooled(feats[-1] if isinstance(feats, (tuple, list)) else feats), logits

    def _base_stages(self, x: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """Base stages ``first..last`` (inclusive) on the rows of ``x``."""
        for i in range(first, last + 1):
            x = self.adapter.stage(i, x)
        return x

    def _base_end(self, fmap: torch.Tensor, first: int) -> torch.Tensor:
        """Base stages ``first..`` then its neck and head: class probabilities."""
        fmap = self._base_stages(fmap, first, self.adapter.num_stages - 1)
        feats = self.adapter.outputs(fmap)
        if self.base.with_neck:
            feats = self.base.neck(feats)
        return F.softmax(self.base.head(feats).float(), dim=1)

    def run_step(self, step: int, x: Optional[torch.Tensor],
                 state: Optional[dict]) -> Tuple[torch.Tensor, dict]:
        """One routing step on preprocessed rows.

        Args:
            step (int): 0 the saver, ``j`` exit ``j``, ``K + 1`` the base head.
            x (Tensor, optional): The rows preprocessed for the saver (step
                0) or the base (step 1); unused later.
            state (dict, optional): The previous step's state for these rows:
                ``saver_feat``, ``saver_logits`` and, from step 2, the base's
                feature map ``x`` and the ``tokens`` so far (N, T, dim).

        Returns:
            tuple: Class probabilities (N, num_classes) and the state.
        """
        if step == 0:
            feat, logits = self.saver_forward(x)
            if self.exits.use_saver_token and feat.shape[1] != self.exits.in_channels[0]:
                raise ValueError(
                    f'The saver\'s pooled feature has {feat.shape[1]} channels but its head '
                    f'says in_channels={self.exits.in_channels[0]} (the saver token\'s width); '
                    'use a saver whose neck pools its last feature map for its head (e.g. '
                    'GlobalAveragePooling), or exits.saver_token=False.')
            return F.softmax(logits.float(), dim=1), dict(saver_feat=feat, saver_logits=logits)
        if step == 1:
            fmap = self.adapter.stem(x)
            tokens = [self.exits.token(0, state['saver_feat'])] \
                if self.exits.use_saver_token else []
            tokens = torch.stack(tokens, dim=1) if tokens else None
            first = 0
        else:
            fmap, tokens, first = state['x'], state['tokens'], self.after[step - 2] + 1
        if step == len(self.after) + 1:  # the base's own end: remaining stages, neck, head
            return self._base_end(fmap, first), state
        stage = self.after[step - 1]
        fmap = self._base_stages(fmap, first, stage)
        token = self.exits.token(self.exits.position(step), self.adapter.pooled(stage, fmap))
        tokens = token[:, None] if tokens is None else torch.cat([tokens, token[:, None]], 1)
        logits = self.exits.exit_logits(step, tokens, state['saver_logits'])
        return F.softmax(logits.float(), dim=1), dict(state, x=fmap, tokens=tokens)

    def run_stage(self, role: str, inputs: Inputs, data_samples=None,
                  state: Optional[dict] = None) -> Tuple[torch.Tensor, dict]:
        """One routing step on raw rows (the core's routed call)."""
        step = self.route_names.index(role)
        x = None
        if step < 2:
            x = self.stage_inputs('saver' if step == 0 else 'base', inputs)[0]
        return self.run_step(step, x, state)

    def exit_scores(self, role: str, outputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Every exit's confidence: its max softmax probability."""
        return confidence_scores(outputs, 'max_prob')

    def unrouted(self, inputs: Inputs, to_end: bool = False) -> tuple:
        """Every image through the saver and the base (no routing), frozen.

        Args:
            inputs (Tensor | list[Tensor]): Raw images.
            to_end (bool): Also run the rest of the base (its last stages,
                neck and head); else it stops after the last exit's stage.

        Returns:
            tuple: The token features in order (N, C_p) each, the saver's
            logits (N, num_classes) and, with ``to_end``, the base's class
            probabilities (N, num_classes).
        """
        with torch.no_grad():
            feat, saver_logits = self.saver_forward(self.stage_inputs('saver', inputs)[0])
            fmap = self.adapter.stem(self.stage_inputs('base', inputs)[0])
            features, done = [feat] if self.exits.use_saver_token else [], -1
            for i in self.after:
                fmap = self._base_stages(fmap, done + 1, i)
                features.append(self.adapter.pooled(i, fmap))
                done = i
            if to_end:
                return features, saver_logits, self._base_end(fmap, done + 1)
        return features, saver_logits

    @torch.no_grad()
    def route_probs(self, inputs: Inputs) -> Dict[str, torch.Tensor]:
        """Every routing step's class probabilities on every image (no routing).

        What ``tools/record.py`` records: each exit as if every image
        reached it, computed on the full, unrouted forward (the causal mask
        makes exit ``j``'s answer independent of later stages).

        Returns:
            dict[str, Tensor]: Per :attr:`route_names` entry, (N, num_classes).
        """
        features, saver_logits, base_probs = self.unrouted(inputs, to_end=True)
        logits = self.exits(features, saver_logits)
        probs = {'saver': F.softmax(saver_logits.float(), dim=1)}
        for j, name in enumerate(self.route_names[1:-1]):
            probs[name] = F.softmax(logits[:, j].float(), dim=1)
        probs['base'] = base_probs
        return probs

    def loss(self, inputs: Inputs, data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The exits' loss on the unrouted forward (saver and base frozen, no gradient).

        Per-exit cross-entropy, each image weighted by 2 x (1 - the saver's
        confidence); 1 for the ablation without the saver token (see
        :meth:`ESNExits.loss`).

        Returns:
            dict[str, Tensor]: ``loss``.
        """
        features, saver_logits = self.unrouted(inputs)
        labels = torch.cat([ds.gt_label for ds in data_samples]).to(saver_logits.device)
        return self.exits.loss(self.exits(features, saver_logits), saver_logits, labels)

    # ------------------------------------------------------------------- MACs
    def measure_part(self, part: str, img: torch.Tensor, data_sample=None) -> int:
        """MACs of one routing step (or ``'base_alone'``) on one raw image."""
        batch = img[None] if torch.is_tensor(img) else [img]
        if part == 'base_alone':
            return measure_macs(self.base, preprocess(self.base, batch))
        step = self.route_names.index(part)
        x = {0: self.stage_inputs('saver', batch)[0], 1: self.stage_inputs('base', batch)[0]}
        state = None
        for s in range(step):  # the state this step resumes from, untraced
            state = self.run_step(s, x.get(s), state)[1]
        probe = _StepProbe(self, step, state)
        modes = [(m, m.training) for m in self.modules()]
        try:
            return measure_macs(probe, x.get(step, x[1]))
        finally:
            for m, mode in modes:
                m.training = mode

    def image_macs(self, inputs, data_samples=None) -> List[Dict[str, int]]:
        """Per image, MACs of each routing step and of the plain base alone
        (``base_alone``, not spent by the cascade: the reference of
        ``macs_saved_pct``)."""
        macs = super().image_macs(inputs, data_samples)
        keys = [self.macs_key(img) for img in inputs]
        for m, key, img in zip(macs, keys, inputs):
            if 'base_alone' not in m:
                m['base_alone'] = self._part_macs('base_alone', key, img, None)
        return macs

    # ------------------------------------------------------------------ modes
    def init_weights(self) -> None:
        """Initialise nothing but untrained exits: the saver and the base keep
        their loaded weights (mmengine's Runner calls this before training,
        which would otherwise re-initialise every frozen stage)."""
        if self.checkpoints.get('exits') is None:
            self.exits.init_weights()

    def _forward(self, inputs: Inputs, data_samples=None) -> torch.Tensor:
        """Tensor mode: the routed class probabilities (N, num_classes); a traced
        forward (a complexity analysis) says which path it counted."""
        probs, answered_by, _ = self.route(inputs)
        self._traced_route(answered_by)
        return probs

    def predict(self, inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Predict with the ESN (real batched early exit).

        Every returned sample carries ``pred_score``/``pred_label``, the
        cascade fields of :mod:`tinysaver_mm.core.fields` over
        :attr:`route_names`, ``exited_at`` and ``macs_base_alone``.

        Args:
            inputs (Tensor | list[Tensor]): Raw images (uint8, as the
                dataloader collates them); each stage preprocesses its own.
            data_samples (list[DataSample], optional): The images'
                annotations, filled in place (new samples when None).

        Returns:
            list[DataSample]: The predictions, in the order of ``inputs``.
        """
        self.ensure_fingerprints()
        if self.batch_size_of(inputs, data_samples) == 0:
            return []
        return pack_predictions(self, inputs, data_samples, *self.route(inputs),
                                extra=lambda step, _: dict(exited_at=step))
