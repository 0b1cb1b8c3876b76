"""The settings that shape a stage's exit inputs, recorded with a calibration and checked.

An exit score (a rule's or a learned evaluator's) and its calibrated
threshold are only valid for the saver outputs they were fitted on. Those
depend on the saver's weights (bound by fingerprints, see
:mod:`tinysaver_mm.utils.checkpoint`) and on its settings: its ``test_cfg``
(a detector's ``score_thr``, NMS, ``max_per_img``; a segmentor's whole/slide
mode), its ``data_preprocessor`` (mean/std, channel order, padding) and the
extra transforms a cascade gives it (a detector's own ``Resize``). A
calibration records them (records meta, evaluator checkpoint meta,
calibration JSON) and a cascade refuses other settings by name.
"""
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ['EXIT_INPUT_KEYS', 'exit_input_settings', 'pipeline_settings', 'settings_changes',
           'check_fitted_settings']

#: keys of a stage's model config that shape its outputs at test time
EXIT_INPUT_KEYS = ('test_cfg', 'data_preprocessor')
#: test-pipeline transforms that shape every stage's input (by type name)
SIZE_TRANSFORMS = ('Resize', 'Crop', 'Pad', 'Scale')


def _plain(value: Any) -> Any:
    """A JSON round trip (tuples become lists, ConfigDicts dicts), as a record stores it."""
    return json.loads(json.dumps(value, default=lambda o: dict(o) if isinstance(o, Mapping)
                                 else list(o) if isinstance(o, (tuple, set)) else repr(o)))


def _flatten(prefix: str, value: Any, out: Dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k in sorted(value):
            _flatten(f'{prefix}.{k}', value[k], out)
    else:
        out[prefix] = value


def exit_input_settings(model_cfg: Mapping, pipeline: Optional[Sequence[dict]] = None
                        ) -> Dict[str, Any]:
    """The settings of one stage that shape its outputs (and so its exit inputs).

    Args:
        model_cfg (Mapping): The stage's model config as built (after
            overrides).
        pipeline (Sequence[dict], optional): Extra transforms the cascade
            applies to the stage's images (a detector's own ``pipeline``).

    Returns:
        dict[str, Any]: Flat ``'test_cfg.score_thr'``-style keys to JSON
        values (``'pipeline'`` holds the transform list).
    """
    out: Dict[str, Any] = {}
    for key in EXIT_INPUT_KEYS:
        value = _plain(model_cfg.get(key))
        if value is not None:
            _flatten(key, value, out)
    if pipeline:
        out['pipeline'] = _plain(list(pipeline))
    return out


def pipeline_settings(pipeline: Optional[Sequence[Mapping]]) -> Dict[str, Any]:
    """The steps of a test pipeline that shape every stage's input (resize, crop, pad).

    Args:
        pipeline (Sequence[Mapping], optional): A dataset's pipeline config.

    Returns:
        dict[str, Any]: ``'<position>.<Type>.<arg>'`` keys (e.g.
        ``'1.Resize.scale'``) to JSON values, for every step whose type names
        one of :data:`SIZE_TRANSFORMS`.
    """
    out: Dict[str, Any] = {}
    for i, step in enumerate(pipeline or []):
        kind = str(step.get('type', ''))
        if any(k in kind for k in SIZE_TRANSFORMS):
            args = _plain({k: v for k, v in step.items() if k != 'type'})
            if args:
                _flatten(f'{i}.{kind}', args, out)
            else:
                out[f'{i}.{kind}'] = {}
    return out


def settings_changes(fitted: Mapping[str, Any], current: Mapping[str, Any]
                     ) -> List[Tuple[str, Any, Any]]:
    """Keys whose value differs: ``(key, fitted value, current value)``, sorted.

    A key present on one side only shows ``'<unset>'`` on the other.
    """
    unset = '<unset>'
    fitted, current = _plain(dict(fitted)), _plain(dict(current))
    return [(k, fitted.get(k, unset), current.get(k, unset))
            for k in sorted(set(fitted) | set(current)) if fitted.get(k, unset) !=
            current.get(k, unset)]


def check_fitted_settings(fitted: Mapping[str, Any], current: Mapping[str, Any],
                          what: str, role: str, fix: str, prefix: Optional[str] = None) -> None:
    """Refuse a stage whose settings differ from those a calibration was fitted with.

    Args:
        fitted (Mapping): The recorded settings.
        current (Mapping): The stage's settings now.
        what (str): The calibration, e.g. ``"the evaluator ('x.pth')"``.
        role (str): The stage, e.g. ``'saver'``.
        fix (str): How to recalibrate (commands).
        prefix (str, optional): Where the keys live, for the message;
            ``'model.<role>.'`` by default.

    Raises:
        ValueError: Naming every changed key (fitted -> now) and the fix.
    """
    changes = settings_changes(fitted, current)
    if not changes:
        return
    prefix = f'model.{role}.' if prefix is None else prefix
    listed = '; '.join(f'{prefix}{k}: {old!r} -> {new!r}' for k, old, new in changes[:6])
    more = f' (+{len(changes) - 6} more)' if len(changes) > 6 else ''
    raise ValueError(
        f'{what} was calibrated on the {role}\'s outputs with other settings than these: '
        f'{listed}{more}. Its exit scores and threshold hold only for the settings '
        f'they were fitted with. Remove the override, or recalibrate for these settings: {fix}')
