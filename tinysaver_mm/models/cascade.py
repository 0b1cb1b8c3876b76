"""The task-agnostic TinySaver cascade: stages, thresholds, routing, MACs, fields.

A host-specific wrapper (``TinySaverClassifier``, ``TinySaverDetector``, ...)
inherits :class:`BaseCascade` *and* its host library's base model
(``BaseClassifier``, ``BaseDetector``), so host tools' ``isinstance`` checks
hold, and says only what is task-specific (as mmengine's ``BaseTTAModel``
subclasses implement one method):

- :meth:`BaseCascade.build_stage`: build one stage model from its config and
  refuse what the task cannot route on;
- :meth:`BaseCascade.run_stage`: run one stage on the rows routed to it;
- :meth:`BaseCascade.exit_scores`: score those rows for exit;
- :meth:`BaseCascade.stage_inputs`: one stage's own preprocessing (for
  tensor mode, feature extraction and MACs);
- :meth:`BaseCascade.predict`: write the routed outputs as the task's data
  samples, with :func:`tinysaver_mm.core.cascade_fields`.

Everything else lives here: building k stages from specs (each with its own
config, preprocessor and strictly loaded checkpoint), freezing them, the
label-set check, the k - 1 thresholds (numbers or a calibration JSON), the
mode policy (``loss`` delegated to a trainable part when there is one,
tensor mode and ``extract_feat`` delegated to a stage so host analysis tools
run), routing through :func:`tinysaver_mm.core.route_batch`, and per-part
MACs measured once per input shape, outside the routed forward.
"""
import contextlib
import copy
import logging
import math
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from tinysaver_mm.core import (join_rows, resolve_thresholds, route_batch, shape_groups,
                               take_rows)
from tinysaver_mm.utils import (EXIT_INPUT_KEYS, check_fitted_settings, exit_input_settings,
                               load_checkpoint_strict, resolve_stage_spec)

__all__ = ['BaseCascade', 'CascadeExportError', 'freeze']

#: largest output change, relative to the largest output, that BatchNorm folding may make
#: to a stage (float rounding) for a part bound to the stage to stay bound
_FUSED_TOLERANCE = 1e-4


def freeze(module: nn.Module) -> nn.Module:
    """Put a module in eval mode with no gradients (a frozen cascade part)."""
    module.eval()
    module.requires_grad_(False)
    return module


class CascadeExportError(RuntimeError):
    """A whole cascade was traced or exported as one static graph."""


def _export_in_progress() -> Optional[str]:
    """Which graph export is tracing the caller, if any (None for a complexity analysis).

    ``torch.export`` (and ``torch.onnx.export``'s dynamo path) say so; a
    ``torch.jit.trace`` or the legacy ONNX exporter is told apart from
    mmengine's complexity analysis (also a jit trace, which a cascade
    supports) by the frames that called it.
    """
    if torch.compiler.is_exporting():
        return 'torch.export'
    if not torch.jit.is_tracing():
        return None
    trace_module = getattr(getattr(torch.jit, '_trace', None), 'trace_module', None)
    frame = sys._getframe(1)
    while frame is not None:
        if trace_module is not None and frame.f_code is trace_module.__code__:
            return 'torch.jit.trace'
        if '/torch/onnx/' in frame.f_code.co_filename.replace('\\', '/'):
            return 'torch.onnx.export'
        frame = frame.f_back
    return None


class BaseCascade:
    """Mechanics shared by every TinySaver cascade (mix in before the host base).

    Subclasses set the class attributes and implement the task methods listed
    in the module docstring, then call :meth:`init_cascade` from ``__init__``
    after the host base class is initialised.

    Attributes:
        exit_rules (tuple[str]): Exit rules the task accepts.
        stage_registry (Registry): The host's ``MODELS`` registry.
        stage_scope (str): Registry scope stages are built in (``'mmpretrain'``,
            ``'mmdet'``...), whatever the caller's default scope.
        stage_keys (tuple[str]): Keys of a stage spec the task reads itself
            (e.g. a detector's ``pipeline``), given to :meth:`build_stage`.
        tensor_stage (str): The stage that answers tensor mode and
            ``extract_feat`` (delegation, as mmdet's ``SemiBaseDetector``
            delegates to its teacher). Defaults to ``'base'``.
        train_hint (str): What ``loss`` says when no part is trainable.
        carries_state (bool): Whether :meth:`run_stage` takes and returns a
            per-row state (``run_stage(step, inputs, samples, state) ->
            (outputs, state)``), e.g. features a later step resumes from.
        thresholds_may_be_off (bool): Whether a threshold above 1 is
            accepted (that exit turned off), e.g. an ESN's inner exits.
    """

    exit_rules: Tuple[str, ...] = ()
    stage_registry: Any = None
    stage_scope: str = 'mmengine'
    stage_keys: Tuple[str, ...] = ()
    tensor_stage: str = 'base'
    train_hint: str = 'train its stages separately with tools/train.py.'
    carries_state: bool = False
    thresholds_may_be_off: bool = False
    _forced_scores: Optional[Callable[[str, Any], torch.Tensor]] = None
    recalibrate_hint: str = (
        'record the stages again with the same settings (python tools/record.py CONFIG '
        '--split holdout --cfg-options ...) and fit again from those records: '
        'python tools/calibrate.py SAVER.npz BASE.npz --target drop --epsilon ... --out CAL.json '
        'for a threshold (then model.threshold=CAL.json), or python tools/train_evaluator.py '
        '... --out EVALUATOR.pth for an evaluator head (then model.evaluator.checkpoint=...).')

    # ------------------------------------------------------------------ build
    def init_cascade(self, saver: dict, base: dict, mids: Optional[Sequence[dict]],
                     threshold: Any, exit_rule: str,
                     data_preprocessor: Optional[dict] = None,
                     train_part: Optional[str] = None) -> None:
        """Build the stages ``saver -> mid0 -> ... -> base`` and the thresholds.

        Args:
            saver, base (dict): Stage specs: ``dict(cfg_path=..., checkpoint=...,
                **overrides)`` or a model dict with ``type``.
            mids (Sequence[dict], optional): Middle stages, named ``mid0``...
            threshold: One per stage but the base (number, list or the path
                of a calibration JSON); None when the task sets it later.
            exit_rule (str): One of :attr:`exit_rules`.
            data_preprocessor (dict, optional): For stages without their own.
            train_part (str, optional): Name of a trainable part (set by the
                task once built); every other part stays frozen.

        Raises:
            ValueError: On an unknown exit rule, bad thresholds, stages with
                different label sets, or a checkpoint that does not match.
        """
        name = type(self).__name__
        if exit_rule not in self.exit_rules:
            raise ValueError(f'exit_rule={exit_rule!r} is unknown; choose one of '
                             f'{sorted(self.exit_rules)}.')
        self.exit_rule = exit_rule
        specs = [('saver', saver)] + [(f'mid{i}', m) for i, m in enumerate(mids or [])]
        specs.append(('base', base))
        self.stage_names: Tuple[str, ...] = tuple(r for r, _ in specs)
        self.checkpoints: Dict[str, Optional[str]] = {}
        self._frozen: Tuple[str, ...] = ()
        self.overheads: Tuple[str, ...] = ()
        self.train_part = train_part
        self._macs: Dict[Tuple[str, Any], int] = {}
        self._trained_for: Dict[str, str] = {}
        self._fingerprints_checked = True
        self._fused_forms: Dict[bytes, Tuple[bytes, Optional[float]]] = {}
        self._register_load_state_dict_pre_hook(self._check_whole_state_dict)
        self.register_load_state_dict_post_hook(self._note_fused_forms)
        self._stage_classes: Optional[Tuple[str, ...]] = None
        self.exit_settings: Dict[str, dict] = {}
        self._shipped_settings: Dict[str, dict] = {}
        self._settings_bound = False
        self.calibrated_pipeline: Optional[Tuple[str, dict]] = None
        class_names, dataset_metas, used_default = {}, {}, False
        for role, spec in specs:
            if not isinstance(spec, dict):
                raise TypeError(f'{role} must be a dict (a model config or dict(cfg_path=..., '
                                f'checkpoint=...)), got {type(spec).__name__}.')
            spec = dict(spec)
            extras = {k: spec.pop(k) for k in self.stage_keys if k in spec}
            cfg, ckpt = resolve_stage_spec(spec, role)
            if cfg.get('data_preprocessor') is None:
                if data_preprocessor is None:
                    print_log(f'{name}: the {role} has no data_preprocessor, so its inputs '
                              'are not normalised.', 'current', logging.WARNING)
                else:
                    cfg['data_preprocessor'] = copy.deepcopy(data_preprocessor)
                    used_default = True
            # before the build: a host model fills defaults into its config dicts
            self.exit_settings[role] = exit_input_settings(cfg, extras.get('pipeline'))
            if role == 'saver':  # what a calibration is fitted on (its outputs)
                self._shipped_settings[role] = self._settings_of_config_file(
                    spec, role, data_preprocessor, extras.get('pipeline'))
            with DefaultScope.overwrite_default_scope(self.stage_scope):
                try:
                    model = self.build_stage(cfg, role, **extras)
                except KeyError as err:
                    if 'is not in the' not in str(err):
                        raise
                    raise KeyError(
                        f'{name}: the {role} (type={cfg.get("type")!r}) cannot be built in '
                        f'{self.stage_scope}\'s registry ({err.args[0]}). A {name} stage must '
                        f'be a {self.stage_scope} model; check the {role}\'s cfg_path/type '
                        '(e.g. a classifier config given to a detection cascade).') from None
            meta = self.load_part(model, ckpt, role)
            dataset_metas[role] = dict(meta.get('dataset_meta') or {})
            class_names[role] = dataset_metas[role].get('classes')
            setattr(self, role, model)
        if data_preprocessor is not None and not used_default:
            print_log(f'{name}: the data_preprocessor given to the cascade is not used: '
                      'every stage has its own.', 'current', logging.INFO)
        self._check_label_sets(class_names, dataset_metas)
        if threshold is not None:  # else the task sets it once its parts are built
            self.threshold = threshold

    def _settings_of_config_file(self, spec: dict, role: str,
                                 data_preprocessor: Optional[dict],
                                 pipeline: Optional[Sequence[dict]]) -> Optional[dict]:
        """A stage's exit-input settings as its ``cfg_path`` file sets them (without
        the spec's overrides of :data:`EXIT_INPUT_KEYS`); None for a model dict."""
        if spec.get('cfg_path') is None:
            return None
        cfg, _ = resolve_stage_spec({k: v for k, v in spec.items() if k not in EXIT_INPUT_KEYS},
                                    role)
        if cfg.get('data_preprocessor') is None and data_preprocessor is not None:
            cfg['data_preprocessor'] = copy.deepcopy(data_preprocessor)
        return exit_input_settings(cfg, pipeline)

    def check_calibrated_settings(self, recorded: Optional[dict], what: str,
                                  role: str = 'saver') -> None:
        """Refuse a calibration fitted on other settings of ``role`` than its own now.

        A calibration (an evaluator head, a threshold JSON) records the
        :func:`~tinysaver_mm.utils.exit_input_settings` of the saver whose
        outputs it was fitted on. One that records none (made before they
        were recorded) is taken as fitted with the stage's ``cfg_path`` file
        as it is, so an override of its ``test_cfg`` or
        ``data_preprocessor`` is refused too.

        Args:
            recorded (dict, optional): The recorded settings (None: none).
            what (str): The calibration, for the message.
            role (str): The stage it was fitted on.

        Raises:
            ValueError: Naming each changed key (fitted -> now) and how to
                recalibrate.
        """
        fitted = recorded
        if fitted is None:
            fitted = self._shipped_settings.get(role)
            what += (' (it records no settings; taken as fitted with the '
                     f'{role}\'s config file as it is)')
        if fitted is not None:
            check_fitted_settings(fitted, self.exit_settings[role], what, role,
                                  self.recalibrate_hint)
            self._settings_bound = True

    def check_test_pipeline(self, pipeline: Optional[Sequence[dict]],
                            where: str = 'test_dataloader') -> None:
        """Refuse a test pipeline that resizes, crops or pads otherwise than the one
        the calibration (evaluator, calibration JSON) recorded (none recorded: no check).

        The cascade never sees its dataset's pipeline; ``TinySaverMACsHook``
        calls this with the runner's dataloader config before evaluating.

        Args:
            pipeline (Sequence[dict], optional): The dataset's pipeline config.
            where (str): The dataloader's config key, for the message.

        Raises:
            ValueError: Naming each changed step argument (fitted -> now).
        """
        if self.calibrated_pipeline is None or pipeline is None:
            return
        from tinysaver_mm.utils import pipeline_settings
        what, fitted = self.calibrated_pipeline
        check_fitted_settings(fitted, pipeline_settings(pipeline), what, 'saver',
                              self.recalibrate_hint, prefix=f'{where}.dataset.pipeline.')

    def _announce_unbound_settings(self) -> None:
        """Warn when a number threshold meets a saver whose settings differ from its
        config file's: nothing records what that number was calibrated with."""
        if self._settings_bound or not self._shipped_settings.get('saver'):
            return
        from tinysaver_mm.utils import settings_changes
        changes = settings_changes(self._shipped_settings['saver'], self.exit_settings['saver'])
        if changes:
            print_log(
                f'{type(self).__name__}: the saver runs with other settings than its config '
                'file (' + '; '.join(f'model.saver.{k}: {a!r} -> {b!r}' for k, a, b in changes[:6])
                + f') and threshold={self.threshold!r} is a number, which records nothing of what '
                'it was calibrated with: if it was calibrated for the config file\'s settings it '
                f'does not hold for these; {self.recalibrate_hint}', 'current', logging.WARNING)

    def refuse_own_cfgs(self, **cfgs: Optional[dict]) -> None:
        """Refuse a non-empty ``train_cfg``/``test_cfg`` given to the cascade itself.

        Host tools and users set e.g. ``model.test_cfg.score_thr=0.3``; a
        cascade has none of its own (it does not train, and each stage keeps
        its own), so the message names the stage override to use instead.

        Raises:
            ValueError: Naming the key, the stage overrides and the recalibration.
        """
        for name, value in cfgs.items():
            if not value:
                continue
            flat = []

            def walk(d, prefix):
                for k, v in d.items():
                    if isinstance(v, dict) and v:
                        walk(v, f'{prefix}{k}.')
                    else:
                        flat.append(f'{prefix}{k}={v!r}')

            walk(dict(value), '')
            first = flat[0] if flat else '...'
            raise ValueError(
                f'model.{name}={dict(value)!r}: {type(self).__name__} has no {name} of its own '
                f'(it does not train, and each stage keeps its own {name}). Set it on a stage '
                f'instead: --cfg-options model.base.{name}.{first} (in a config: '
                f'base=dict(cfg_path=..., {name}=dict(...))). The same on the saver '
                f'(model.saver.{name}.{first}) changes what its exit scores were calibrated '
                'on: calibrate the threshold (and evaluator) again after changing it.')

    def load_part(self, module: nn.Module, checkpoint: Optional[str], role: str,
                  trainable: bool = False) -> dict:
        """Load a part's checkpoint strictly and freeze it (unless trainable).

        Returns:
            dict: The checkpoint's ``meta`` (empty without a checkpoint).
        """
        self.checkpoints[role] = checkpoint
        meta = {}
        if checkpoint is not None:
            meta = load_checkpoint_strict(module, checkpoint, role).get('meta') or {}
        if not trainable:
            self._frozen += (role, )
            freeze(module)
        return meta

    def build_part(self, spec: dict, role: str, trainable: bool = False
                   ) -> Tuple[nn.Module, dict]:
        """Build an extra part (e.g. an evaluator head) from ``dict(type=..., checkpoint=...)``.

        Returns:
            tuple: The module (loaded strictly, frozen unless trainable) and
            its checkpoint's ``meta``.
        """
        spec = dict(spec)
        checkpoint = spec.pop('checkpoint', None)
        with DefaultScope.overwrite_default_scope(self.stage_scope):
            module = self.stage_registry.build(spec)
        return module, self.load_part(module, checkpoint, role, trainable)

    def init_evaluator(self, spec: Optional[dict], threshold: Any) -> None:
        """Build, load and check the learned exit head, then set the thresholds.

        The head (``dict(type=..., checkpoint=...)``, a
        :class:`~tinysaver_mm.models.heads.BaseExitHead`) is bound to the
        saver it was trained for; when ``exit_rule='evaluator'`` every image
        pays for it (an overhead part).

        Args:
            spec (dict, optional): The head; None for none.
            threshold: The configured threshold(s); None takes the one stored
                in the head's checkpoint.

        Raises:
            ValueError: If ``exit_rule='evaluator'`` without a head, the head
                is for another class count than the stages, or no threshold
                is given or stored.
        """
        self.evaluator, meta = None, {}
        if spec is None and self.exit_rule == 'evaluator':
            raise ValueError("exit_rule='evaluator' needs evaluator=dict(type=..., "
                             'checkpoint=...): the learned exit head of this saver.')
        if spec is not None:
            self.evaluator, meta = self.build_part(spec, 'evaluator')
            head_classes = getattr(self.evaluator, 'num_classes', None)
            if None not in (self.num_classes, head_classes) and head_classes != self.num_classes:
                raise ValueError(f'The evaluator is for {head_classes} classes but the saver '
                                 f'predicts {self.num_classes}.')
            self.overheads = ('evaluator', ) if self.exit_rule == 'evaluator' else ()
            self.bind_to_stage('evaluator', 'saver')
            what = f'The evaluator ({self.checkpoints["evaluator"]!r})'
            self.check_calibrated_settings(meta.get('saver_settings'), what)
            if meta.get('test_pipeline') is not None:
                self.calibrated_pipeline = (what, meta['test_pipeline'])
        if threshold is None:
            threshold = meta.get('threshold')
        if threshold is None:
            raise ValueError('threshold=None takes the threshold stored in the evaluator '
                             "checkpoint, but there is none; give threshold=... in [0, 1].")
        self.threshold = threshold
        self._announce_unbound_settings()

    def evaluator_macs(self) -> int:
        """MACs of the evaluator head on one image (one input row)."""
        from tinysaver_mm.utils import measure_macs
        return measure_macs(self.evaluator, torch.zeros(
            1, self.evaluator.in_channels, device=self.evaluator.input_mean.device))

    def build_stage(self, cfg: dict, role: str, **extras) -> nn.Module:
        """Build one stage from its model config (in :attr:`stage_scope`); tasks
        extend it to refuse what they cannot route on."""
        return self.stage_registry.build(cfg)

    @staticmethod
    def stage_num_classes(model: nn.Module) -> Optional[int]:
        """Task: the number of classes a stage predicts (None if unknown)."""
        head = getattr(model, 'head', None)
        n = getattr(head, 'num_classes', None)
        return None if n is None else int(n)

    def _check_label_sets(self, class_names: Dict[str, Optional[Sequence[str]]],
                          dataset_metas: Optional[Dict[str, dict]] = None) -> None:
        """Refuse stages of other label sets; keep the stages' class names and palette.

        ``dataset_meta`` gets the base's classes (else the first named stage's)
        and the palette of the first stage checkpoint, base first, that has
        one (mmseg's and mmdet's visualisers draw with it).
        """
        counts = {r: self.stage_num_classes(getattr(self, r)) for r in self.stage_names}
        known = {r: n for r, n in counts.items() if n is not None}
        if len(set(known.values())) > 1:
            raise ValueError(
                'All stages must predict the same classes, but their heads have '
                f'num_classes {known}. Use a saver trained on the base\'s label set '
                '(same num_classes and class order).')
        named = {r: list(c) for r, c in class_names.items() if c}
        if len(named) == len(self.stage_names) and \
                any(c != named['base'] for c in named.values()):
            raise ValueError(
                'The stage checkpoints were trained on different class sets ('
                + ', '.join(f'{r}: {c[:3]}...' for r, c in named.items())
                + "). Use a saver trained on the base's classes, in the same order.")
        self.num_classes = next(iter(known.values()), None)
        if named:
            self._stage_classes = tuple(named.get('base', next(iter(named.values()))))
            metas = dataset_metas or {}
            order = ('base', ) + tuple(r for r in self.stage_names if r != 'base')
            palette = next((metas[r]['palette'] for r in order
                            if (metas.get(r) or {}).get('palette') is not None), None)
            self._stage_palette = None if palette is None else list(palette)
            self.dataset_meta = dict(classes=self._stage_classes) if palette is None else \
                dict(classes=self._stage_classes, palette=list(palette))

    @property
    def dataset_meta(self) -> dict:
        """Class names (and palette) of the cascade: its stages' when their
        checkpoints name them (a host tool setting other classes is warned and
        the stages' kept). Absent until set, as on any host model."""
        meta = self.__dict__.get('_dataset_meta')
        if meta is None:
            raise AttributeError(f'{type(self).__name__} has no dataset_meta: its stage '
                                 'checkpoints name no classes.')
        return meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        meta = dict(meta or {})
        own = self.__dict__.get('_stage_classes')
        own_palette = self.__dict__.get('_stage_palette')
        given = meta.get('classes')
        if own is not None and given is not None and tuple(given) != own:
            print_log(f'{type(self).__name__}: dataset_meta names the classes '
                      f'{list(given)[:3]}... but the stages predict {list(own)[:3]}... (from '
                      'their checkpoints); keeping the stages\' class names' + (
                          ' and palette' if own_palette is not None else '') + '. A whole-'
                      'cascade checkpoint (tools/merge_cascade.py) carries them for host tools.',
                      'current', logging.WARNING)
            meta['classes'] = own
            if own_palette is not None:
                meta['palette'] = list(own_palette)
        elif own_palette is not None and meta.get('palette') is None:
            meta['palette'] = list(own_palette)  # the stages' colours, for the visualisers
        self.__dict__['_dataset_meta'] = meta

    # ----------------------------------------------------------- fingerprints
    def bind_to_stage(self, part: str, stage: Union[str, Sequence[str]] = 'saver') -> None:
        """Declare that ``part`` (e.g. an evaluator head) was trained for ``stage``.

        The part's fingerprint of each stage (a SHA-256 of the stage's
        weights, or None) is checked now and again after any
        ``load_state_dict`` (e.g. a whole checkpoint given to
        ``tools/test.py``), before the next prediction. A part bound to one
        stage gives it as ``trained_for``; a part bound to several (e.g. the
        ESN's exits: saver and base) as ``fingerprint_for(stage)``.
        """
        self._trained_for[part] = (stage, ) if isinstance(stage, str) else tuple(stage)
        self.check_fingerprints()

    @staticmethod
    def _part_fingerprint(module: nn.Module, stage: str) -> Optional[bytes]:
        """The fingerprint of ``stage`` a part was trained for (None if untrained)."""
        if hasattr(module, 'fingerprint_for'):
            return module.fingerprint_for(stage)
        return module.trained_for

    def part_trained_for(self, part: str) -> Dict[str, str]:
        """Hex fingerprint of each stage ``part`` is bound to ('' if untrained)."""
        return {stage: (self._part_fingerprint(getattr(self, part), stage) or b'').hex()
                for stage in self._trained_for.get(part, ())}

    def bind_trainable_part(self) -> str:
        """Record, in the trainable part, the weights of the stages it is bound to.

        Called when its training starts (``TinySaverPartCheckpointHook``): the
        part's checkpoints then say which saver (and base) they were trained
        for, and a cascade with other stages refuses them.

        Returns:
            str: The trainable part's name.

        Raises:
            ValueError: If the cascade has no trainable part bound to a stage.
        """
        from tinysaver_mm.utils import state_dict_fingerprint
        part = self.train_part
        if part is None or part not in self._trained_for:
            raise ValueError(f'{type(self).__name__} has no trainable part bound to its '
                             f'stages; {self.train_hint}')
        getattr(self, part).set_trained_for(*(state_dict_fingerprint(getattr(self, s))
                                              for s in self._trained_for[part]))
        self._fingerprints_checked = True
        return part

    def check_fingerprints(self) -> None:
        """Refuse a part trained for other weights; warn about an untrained one.

        A stage whose BatchNorm was folded into its convolutions (mmcv's
        ``fuse_conv_bn``, e.g. ``--fuse-conv-bn``) after its weights were
        checked keeps the binding when folding kept its outputs (checked on a
        probe image, see :func:`~tinysaver_mm.utils.fused_form`); otherwise
        the message says what folding changed.

        Raises:
            ValueError: If a part's fingerprint differs from its stage's.
        """
        from tinysaver_mm.utils import fused_form, state_dict_fingerprint
        for part, stage in ((p, s) for p, stages in self._trained_for.items() for s in stages):
            trained_for = self._part_fingerprint(getattr(self, part), stage)
            if trained_for is None:
                print_log(f'{type(self).__name__}: the {part} has no {stage} fingerprint '
                          f'(untrained); its outputs are meaningless. Train it for this '
                          f'{stage} first.', 'current', logging.WARNING)
                continue
            module = getattr(self, stage)
            own = state_dict_fingerprint(module)
            if trained_for == own:
                self._note_fused_form(trained_for, module)
                continue
            known = self._fused_forms.get(trained_for)
            if known is not None and fused_form(module)[0] == known[0]:
                diff = known[1]
                if diff is not None and diff <= _FUSED_TOLERANCE:
                    print_log(f'{type(self).__name__}: the {stage}\'s BatchNorm is folded into '
                              f'its convolutions (fuse_conv_bn), from the {stage} the {part} was '
                              f'trained for, and its outputs are unchanged (relative difference '
                              f'{diff:.1e} on a probe image): the {part} stays bound.',
                              'current', logging.INFO)
                    continue
                what = ('its outputs could not be compared on a probe image' if diff is None
                        else f'its outputs change by up to {100 * diff:.1f} % of their largest '
                        'value on a probe image')
                raise ValueError(
                    f'The {stage}\'s BatchNorm was folded into its convolutions (fuse_conv_bn, '
                    f'e.g. --fuse-conv-bn) after loading the {stage} the {part} was trained '
                    f'for, and {what}: folding does not keep this {stage} (e.g. a conv shared by '
                    'several BatchNorms, as in RTMDet heads with share_conv=True, is folded '
                    f'once per BatchNorm). The {part} cannot vouch for it: run without '
                    '--fuse-conv-bn (or fold only stages that folding keeps).')
            no_bn = not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                            for m in module.modules())
            raise ValueError(
                f'The {part} was trained for another {stage} (its {stage} fingerprint '
                f'{trained_for.hex()[:12]}... differs from this {stage}\'s '
                f'{own.hex()[:12]}...). Train a {part} for this {stage}, or use the '
                f'{stage} it was trained for.' + (
                    f' This {stage} has no BatchNorm layers: if they were folded into its '
                    'convolutions (--fuse-conv-bn, mmcv.cnn.fuse_conv_bn), fold them after '
                    'the cascade has loaded its weights, not before.'
                    if no_bn else ''))
        self._fingerprints_checked = True

    def _note_fused_form(self, fingerprint: bytes, module: nn.Module) -> None:
        """Remember the BN-fused form of checked weights (computed once)."""
        if fingerprint not in self._fused_forms:
            from tinysaver_mm.utils import fused_form
            self._fused_forms[fingerprint] = fused_form(module)

    def _note_fused_forms(self, *args) -> None:
        """After a ``load_state_dict``: the fused form of each bound stage whose loaded
        weights are those its part was trained for (nothing is refused here; the
        fingerprints are checked before the next prediction)."""
        from tinysaver_mm.utils import state_dict_fingerprint
        for part, stages in self._trained_for.items():
            for stage in stages:
                trained_for = self._part_fingerprint(getattr(self, part), stage)
                module = getattr(self, stage)
                if trained_for is not None and trained_for not in self._fused_forms and \
                        state_dict_fingerprint(module) == trained_for:
                    self._note_fused_form(trained_for, module)

    def _check_whole_state_dict(self, state_dict: dict, prefix: str, *args) -> None:
        """Refuse a state dict that is not this whole cascade's (before anything loads).

        mmengine's ``load_from`` and host ``tools/test.py`` load non-strictly,
        which would keep the config's stage weights with only a warning for a
        stage's or another model's checkpoint. Loading into a cascade is all
        or nothing; the fingerprints are checked again before the next
        prediction.

        Raises:
            ValueError: On missing, unexpected or mis-shaped keys, naming them.
        """
        own = {prefix + k: v for k, v in self.state_dict().items()}
        given = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
        missing = sorted(set(own) - set(given))
        unexpected = sorted(set(given) - set(own))
        shapes = [f'{k}: checkpoint {tuple(given[k].shape)} vs model {tuple(own[k].shape)}'
                  for k in sorted(set(own) & set(given)) if hasattr(given[k], 'shape')
                  and tuple(given[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or shapes:
            name = type(self).__name__
            parts = self.stage_names + self.overheads
            whole = any(k[len(prefix):].split('.')[0] in parts for k in given)
            lines = [f'The weights loaded into the {name} are not a whole checkpoint of this '
                     'cascade; nothing was loaded.']
            for title, items in (('missing keys', missing), ('unexpected keys', unexpected),
                                 ('shape mismatches', shapes)):
                if items:
                    more = f' (+{len(items) - 3} more)' if len(items) > 3 else ''
                    lines.append(f'  {len(items)} {title}: {items[:3]}{more}')
            lines.append(
                '  Fix: write one with tools/merge_cascade.py CONFIG OUT.pth and give that '
                'file (CKPT / load_from)' + (
                    '' if whole else '; a single stage\'s checkpoint goes into the config '
                    f'instead, as model.{self.stage_names[0]}.checkpoint=... (or another stage)')
                + '.')
            raise ValueError('\n'.join(lines))
        self._fingerprints_checked = False

    def ensure_fingerprints(self) -> None:
        """Check the fingerprints again if weights were loaded since the last check."""
        if not self._fingerprints_checked:
            self.check_fingerprints()

    # ------------------------------------------------------------- thresholds
    @property
    def route_names(self) -> Tuple[str, ...]:
        """The routing steps, in order: one exit each but the last (which
        answers what is left). The stages themselves by default; a cascade
        with exits inside a stage (the ESN) names its own steps."""
        return self.stage_names

    @property
    def threshold(self):
        """The exit threshold(s) in [0, 1]: a number for two steps, else a
        list with one per routing step but the last. Accepts a calibration
        JSON path."""
        return self._thresholds[0] if len(self._thresholds) == 1 else list(self._thresholds)

    @threshold.setter
    def threshold(self, value) -> None:
        thresholds = resolve_thresholds(value, len(self.route_names) - 1,
                                        self.route_names, self.exit_rule,
                                        allow_off=self.thresholds_may_be_off)
        if isinstance(value, str):  # a calibration JSON: fitted on the saver's settings
            import json
            with open(value) as f:
                data = json.load(f)
            what = f'The calibration {value!r}'
            self.check_calibrated_settings(data.get('saver_settings'), what)
            if data.get('test_pipeline') is not None:
                self.calibrated_pipeline = (what, data['test_pipeline'])
        self._thresholds = thresholds

    # ------------------------------------------------------------------ modes
    def frozen_parts(self) -> List[str]:
        """Names of every part that never trains (loaded through :meth:`load_part`)."""
        return [p for p in self._frozen if p != self.train_part]

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode; only a trainable part follows ``mode``."""
        super().train(mode)
        for part in self.frozen_parts():
            if getattr(self, part, None) is not None:
                getattr(self, part).eval()
        return self

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """``'predict'``: routed data samples; ``'tensor'``: see :meth:`_forward`;
        ``'loss'``: the trainable part's losses (see :meth:`loss`)."""
        how = _export_in_progress()
        if how is not None:
            stages = ', '.join(f'cascade.{r}' for r in self.stage_names + self.overheads)
            raise CascadeExportError(
                f'{type(self).__name__} cannot be exported as one static graph ({how}): it '
                'routes each image at run time (which stages run depends on the exit scores), '
                'and a traced or exported graph would freeze one routing or one stage. Export '
                f'its stages one by one instead ({stages}, each on its own preprocessed '
                'inputs: cascade.stage_inputs(role, inputs)) and keep the routing in Python '
                'around them.')
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        """Losses of the trainable part, the frozen stages staying frozen.

        The trainable part (``train_part``) implements
        ``loss(inputs, data_samples, cascade)`` and may run the frozen stages
        through ``cascade``.

        Raises:
            NotImplementedError: When the cascade has no trainable part.
        """
        if self.train_part is None:
            raise NotImplementedError(f'{type(self).__name__} is an inference cascade of '
                                      f'frozen models; {self.train_hint}')
        return getattr(self, self.train_part).loss(inputs, data_samples, cascade=self)

    def stage_inputs(self, role: str, inputs, data_samples=None) -> Tuple[Any, Any]:
        """Task: a stage's own preprocessing of raw inputs -> (batch, samples)."""
        raise NotImplementedError

    def _traced_alone(self, what: str) -> None:
        """Say, once per analysis, that a traced figure is one stage's, not the cascade's."""
        if torch.jit.is_tracing() and not getattr(self, '_told_traced', False):
            self._told_traced = True
            print_log(f'{type(self).__name__}: {what} runs the {self.tensor_stage} alone, so a '
                      f'complexity figure of this model is the {self.tensor_stage}\'s cost, not '
                      'the cascade\'s: per image the cascade pays ' + ' + '.join(
                          self.stage_names[:1] + self.overheads) + ' and the later stages only '
                      'where it does not exit. Measure it with tools/test.py (TinySaverMACsHook '
                      'logs each stage\'s MACs; TinySaverMetric reports gmacs_<stage> and '
                      'gmacs_cascade at the routed exit ratio).', 'current', logging.WARNING)

    def _traced_route(self, answered_by: torch.Tensor) -> None:
        """Say which path a traced routed forward counted (a complexity analysis).

        mmengine's ``get_model_complexity_info`` traces one forward; a trace
        keeps only the operations its output depends on, so its figure counts
        the stages whose answers the output holds (each on every image it
        ran on), not those that only ran to route (e.g. the saver on an image
        that goes on, the evaluator): one input's path, not the cascade's
        cost per image, which depends on the exit ratio.
        """
        if not torch.jit.is_tracing():
            return
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            by = [int(b) for b in answered_by.tolist()]
        names = self.route_names
        ran = [sum(b >= i for b in by) for i in range(len(names))]
        answered = [i for i in range(len(names)) if i in by]
        counted = ', '.join(f'the {names[i]} (on {ran[i]} image(s))' for i in answered)
        routing = [f'the {names[i]} (on {ran[i]})' for i in range(len(names))
                   if ran[i] and i not in answered] + [f'the {p}' for p in self.overheads]
        print_log(f'{type(self).__name__}: a traced forward (e.g. get_model_complexity_info) '
                  f'counted the routed path of its {len(by)} input image(s): {counted}, whose '
                  'answers it returns' + (
                      f'; not {", ".join(routing)}, which ran only to route them'
                      if routing else '') +
                  '. That is one input\'s path, not the cascade\'s cost per image, which '
                  'depends on the exit ratio: measure it with tools/test.py '
                  '(TinySaverMACsHook logs each stage\'s MACs; TinySaverMetric reports '
                  'gmacs_<stage> and gmacs_cascade at the routed exit ratio).',
                  'current', logging.WARNING)

    def _forward(self, inputs, data_samples=None):
        """Tensor mode, delegated to :attr:`tensor_stage` on its own inputs."""
        self._traced_alone('tensor mode')
        model = getattr(self, self.tensor_stage)
        x, samples = self.stage_inputs(self.tensor_stage, inputs, data_samples)
        return model(x, samples, mode='tensor')

    def extract_feat(self, inputs, data_samples=None):
        """Features of :attr:`tensor_stage` on its own preprocessed inputs."""
        self._traced_alone('extract_feat')
        x, _ = self.stage_inputs(self.tensor_stage, inputs, data_samples)
        return getattr(self, self.tensor_stage).extract_feat(x)

    # ---------------------------------------------------------------- routing
    def run_stage(self, role: str, inputs, data_samples=None):
        """Task: one stage's outputs for raw rows (a tensor or one item per row)."""
        raise NotImplementedError

    def exit_scores(self, role: str, outputs, data_samples=None) -> torch.Tensor:
        """Task: exit score in [0, 1] per row of a stage's outputs (N,)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def forced_exit_scores(self, scores: Callable[[str, Any], torch.Tensor]) -> Iterator[None]:
        """Route on given exit scores instead of the exit rule's, inside the block.

        For benchmarks that force the routing (e.g. random-weight savers, whose
        confidences tie): every stage still runs on its rows and the routing
        code is the same; only where each row's exit score comes from changes.
        The exit rule's scores are used again on leaving the block.

        Args:
            scores (callable): ``(step, outputs) -> (N,)`` exit score of each
                row of a routing step's outputs, for every step but the last.
        """
        saved, self._forced_scores = self._forced_scores, scores
        try:
            yield
        finally:
            self._forced_scores = saved

    @staticmethod
    def batch_size_of(inputs, data_samples=None) -> int:
        """Images in a batch; refuses images without channels or a sample count that differs.

        Raises:
            ValueError: If ``data_samples`` does not hold one per image, or the
                images have no channel dimension (a (N, H, W) batch or
                (H, W) images).
        """
        if isinstance(inputs, torch.Tensor) and inputs.dim() != 4:
            raise ValueError(
                f'The batch has shape {tuple(inputs.shape)}; a cascade takes a batch of '
                'shape (N, C, H, W) (or a list of (C, H, W) images), channels included '
                'even for grey images: e.g. images[:, None] for a (N, H, W) batch.')
        bad = next((tuple(img.shape) for img in ([] if isinstance(inputs, torch.Tensor)
                                                 else inputs)
                    if isinstance(img, torch.Tensor) and img.dim() != 3), None)
        if bad is not None:
            raise ValueError(
                f'An image of the batch has shape {bad}; a cascade takes images of shape '
                '(C, H, W) (or a (N, C, H, W) batch), channels included even for grey '
                'images: e.g. img[None] for a (H, W) image.')
        n = len(inputs)
        if data_samples is not None and len(data_samples) != n:
            raise ValueError(f'The batch has {n} images but {len(data_samples)} data '
                             'samples; give one data sample per image (or none).')
        return n

    def run_stages_elsewhere(self, runners: Dict[str, Any]) -> None:
        """Run some later stages through other callables (e.g. a serving replica's
        calls to the replica that holds that stage), the routing staying :meth:`route`'s.

        Each runner is called as :meth:`run_stage` would be, ``runner(role,
        rows, samples)``, on exactly the rows routed to that stage, and must
        return the same outputs. Exit scores and thresholds stay this
        cascade's; an empty dict runs every stage here again.

        Args:
            runners (dict[str, callable]): Stage name -> runner; any routing
                step but the first.

        Raises:
            ValueError: On an unknown step, the first step, or a cascade whose
                steps pass a state on (:attr:`carries_state`, e.g. the ESN).
        """
        runners = dict(runners)
        if runners and self.carries_state:
            raise ValueError(f'{type(self).__name__} passes a per-image state from one routing '
                             'step to the next, so its steps cannot run elsewhere.')
        bad = [r for r in runners if r not in self.route_names[1:]]
        if bad:
            raise ValueError(f'Cannot run {bad} elsewhere: the later routing steps of this '
                             f'cascade are {list(self.route_names[1:])} (the first step runs '
                             'here and scores the exits).')
        self.__dict__['_stage_runners'] = runners

    @torch.no_grad()
    def route(self, inputs, data_samples=None, keep_first: bool = False) -> tuple:
        """Run the cascade with real batch routing (see :func:`route_batch`).

        Args:
            inputs: A raw batch (N images: a stacked tensor or a list).
            data_samples (list, optional): Their samples, routed with them.
            keep_first (bool): Also return the saver's outputs on every image.

        Images of different shapes are routed as one sub-batch per shape
        (:func:`~tinysaver_mm.core.shape_groups`): a host preprocessor pads a
        batch to its largest image, which would move an image's outputs and
        exit score with its batch-mates' sizes. Each image's routing and
        outputs are thus those it gets on its own.

        Returns:
            tuple: Outputs in batch order (on the stages' device), the index
            of the stage that answered each image (N,), the saver's exit
            score per image (N,) and, with ``keep_first``, the saver's outputs.
        """
        n = self.batch_size_of(inputs, data_samples)
        groups = shape_groups(inputs)
        if len(groups) <= 1:
            return self._route_rows(inputs, data_samples, keep_first)
        parts = [self._route_rows(take_rows(inputs, g), take_rows(data_samples, g), keep_first)
                 for g in groups]
        return tuple(join_rows([p[j] for p in parts], groups, n) for j in range(len(parts[0])))

    def _route_rows(self, inputs, data_samples, keep_first: bool) -> tuple:
        """:meth:`route` on images of one shape."""
        names = self.route_names
        scores, first = {}, []
        runners = self.__dict__.get('_stage_runners') or {}

        def run(i: int, rows: Optional[torch.Tensor], state: Any = None):
            samples = take_rows(data_samples, rows)
            if self.carries_state:
                out, state = self.run_stage(names[i], take_rows(inputs, rows), samples, state)
            else:
                out = runners.get(names[i], self.run_stage)(names[i], take_rows(inputs, rows),
                                                            samples)
            if i == 0:
                first.append(out)
            if i < len(names) - 1:  # scored here, where the rows' samples are known
                scores[i] = self.exit_scores(names[i], out, samples) if \
                    self._forced_scores is None else self._forced_scores(names[i], out)
            return (out, state) if self.carries_state else out

        confidence = [lambda _, i=i: scores[i] for i in range(len(names) - 1)]
        # route_to_last (e.g. set by TinySaverDriftHook(on_drift='base')): the
        # saver still scores every image, but none exits before the last stage
        thresholds = [math.inf] * len(self._thresholds) if getattr(
            self, 'route_to_last', False) else self._thresholds
        routed = route_batch(run, confidence, thresholds,
                             self.batch_size_of(inputs, data_samples), names,
                             with_state=self.carries_state)
        return routed + (first[0], ) if keep_first else routed

    # ------------------------------------------------------------------- MACs
    def macs_key(self, img) -> Any:
        """What MACs depend on for one raw image (its shape, by default)."""
        return tuple(img.shape)

    def measure_part(self, part: str, img, data_sample=None) -> int:
        """Task: MACs of one part (stage or overhead) on one raw image."""
        raise NotImplementedError

    def image_macs(self, inputs, data_samples=None) -> List[Dict[str, int]]:
        """MACs of every part for each image of a batch (measured once per shape).

        Each part (each routing step of :attr:`route_names` and each
        overhead) is measured alone on one image, outside the routed forward
        (so a traced forward never nests a trace), and cached per input shape.

        Returns:
            list[dict[str, int]]: Per image, MACs of each step and overhead.
        """
        if isinstance(inputs, torch.Tensor):  # one shape for the whole batch
            keys = [self.macs_key(inputs[0])] * len(inputs) if len(inputs) else []
        else:
            keys = [self.macs_key(img) for img in inputs]
        per_key = {}
        for i, key in enumerate(keys):
            if key not in per_key:
                sample = None if data_samples is None else data_samples[i]
                per_key[key] = {p: self._part_macs(p, key, inputs[i], sample)
                                for p in self.route_names + self.overheads}
        return [per_key[k] for k in keys]

    def _part_macs(self, part: str, key: Any, img, sample) -> int:
        if (part, key) not in self._macs:
            with torch.no_grad():
                self._macs[(part, key)] = self.evaluator_macs() if part == 'evaluator' \
                    else self.measure_part(part, img, sample)
        return self._macs[(part, key)]

    def stage_macs(self, role: str) -> int:
        """MACs per image of one part, at the last input shape it was measured on.

        Raises:
            RuntimeError: If that part has not been measured yet.
        """
        found = [m for (r, _), m in self._macs.items() if r == role]
        if not found:
            raise RuntimeError(f'MACs of the {role} are measured on its first batch; run '
                               'the cascade (or measure_stage_macs) first.')
        return found[-1]

    def measure_stage_macs(self, inputs, data_samples=None) -> Dict[str, int]:
        """MACs per image of every part on the first image of a batch (the hook's probe).

        Returns:
            dict[str, int]: MACs of each stage and overhead part.
        """
        return self.image_macs(inputs[:1], None if data_samples is None else data_samples[:1])[0]
