"""Turn a cascade stage spec (``cfg_path=`` or a model dict) into a model config."""
import copy
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config, ConfigDict

__all__ = ['model_cfg_of', 'load_model_cfg', 'apply_overrides', 'resolve_stage_spec',
           'stage_model_name']


def model_cfg_of(cfg: Config) -> ConfigDict:
    """A config's ``model`` with its top-level ``data_preprocessor`` merged.

    mmpretrain configs keep ``data_preprocessor`` at the top level and the
    Runner merges it into ``model``; building ``cfg.model`` directly would give
    an unnormalised model. This returns what the Runner would build.

    Args:
        cfg (Config): A full config.

    Returns:
        ConfigDict: A copy of the model config.

    Raises:
        KeyError: If the config has no ``model``.
    """
    if 'model' not in cfg:
        raise KeyError(f'Config {cfg.filename!r} has no `model` to build.')
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    return model


def load_model_cfg(cfg_path: str) -> ConfigDict:
    """Read the ``model`` of a config file, as the Runner would build it.

    See :func:`model_cfg_of`: the sub-model is normalised exactly as it was
    when it was trained.

    Args:
        cfg_path (str): ``'pkg::path/in/pkg.py'`` (a config shipped with an
            installed OpenMMLab package) or a local config file.

    Returns:
        ConfigDict: The model config.

    Raises:
        FileNotFoundError: If a local config file does not exist.
        KeyError: If the config has no ``model``.
    """
    if '::' in cfg_path:
        from mmengine.hub import get_config
        cfg = get_config(cfg_path)
    else:
        if not osp.isfile(cfg_path):
            raise FileNotFoundError(
                f'cfg_path {cfg_path!r} does not exist. Give a local config '
                "file or 'mmpretrain::path/in/package.py'.")
        cfg = Config.fromfile(cfg_path)
    return model_cfg_of(cfg)


def apply_overrides(target: dict, overrides: dict, where: str, path: str = 'model') -> None:
    """Merge ``overrides`` into ``target`` in place, recursively, refusing unknown keys.

    As a ``_base_`` child config does: a dict merges into the dict it
    overrides, anything else replaces the value. A key the target does not
    have is an error (a typo would otherwise be dropped or build something
    else), unless the dict holding it says ``_add_=True`` (new keys on
    purpose); ``_delete_=True`` replaces the target dict whole, as in
    mmengine configs.

    Args:
        target (dict): The model config to change.
        overrides (dict): Keys to set.
        where (str): The stage, for messages.
        path (str): Dotted path of ``target``, for messages.

    Raises:
        KeyError: If an override names a key the target config does not have.
    """
    allow_new = bool(overrides.get('_add_', False))
    for key, value in overrides.items():
        if key in ('_add_', '_delete_'):
            continue
        here = f'{path}.{key}'
        if isinstance(value, dict) and value.get('_delete_', False):
            target[key] = ConfigDict({k: v for k, v in value.items() if k != '_delete_'})
        elif key not in target and not allow_new:
            known = sorted(k for k in target if not str(k).startswith('_'))
            raise KeyError(
                f'{where}: the override {here} is not a key of that config (keys there: '
                f'{known}). Fix the name, add _add_=True to that dict to add a new key on '
                'purpose, or _delete_=True to replace the whole dict.')
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            apply_overrides(target[key], value, where, here)
        else:
            target[key] = copy.deepcopy(value)


def resolve_stage_spec(spec: dict,
                       role: str) -> Tuple[ConfigDict, Optional[str]]:
    """Resolve one stage of a cascade into ``(model_cfg, checkpoint)``.

    A spec is either ``dict(cfg_path=..., checkpoint=..., **overrides)``, where
    the overrides are merged into the config's model (as a ``_base_`` child
    would), or a model dict ``dict(type=..., ..., checkpoint=...)``.

    Args:
        spec (dict): The stage spec from the cascade config.
        role (str): ``'saver'``, ``'base'``..., used in messages.

    Returns:
        tuple[ConfigDict, str | None]: Model config and checkpoint (or None).

    Raises:
        TypeError: If ``spec`` is not a dict.
        ValueError: If it has neither ``cfg_path`` nor ``type``, or both.
        KeyError: If an override names a key the config does not have.
    """
    if not isinstance(spec, dict):
        raise TypeError(f'{role} must be a dict (a model config or '
                        f"dict(cfg_path=..., checkpoint=...)), got {type(spec).__name__}.")
    spec = copy.deepcopy(dict(spec))
    checkpoint = spec.pop('checkpoint', None)
    cfg_path = spec.pop('cfg_path', None)
    if cfg_path is not None:
        if 'type' in spec:
            raise ValueError(
                f'{role} has both cfg_path={cfg_path!r} and type={spec["type"]!r}; give one: '
                'cfg_path=... (with overrides of that config\'s model) or a full model dict.')
        model = load_model_cfg(cfg_path)
        apply_overrides(model, spec, f'{role} (cfg_path={cfg_path!r})')
    elif 'type' in spec:
        model = ConfigDict(spec)
    else:
        raise ValueError(
            f'{role} needs cfg_path=... (e.g. '
            "'mmpretrain::resnet/resnet18_8xb32_in1k.py') or a model dict with "
            f'type=...; got keys {sorted(spec)}.')
    return model, checkpoint


def stage_model_name(spec) -> str:
    """A stage's name in latency tables and records: its config's file name without ``.py``.

    Args:
        spec (dict | str): A cascade's stage spec (``cfg_path=...``), a model
            dict, or a config path.

    Returns:
        str: E.g. ``'resnet18-w16_fmnist'``; the model type for a model dict.
    """
    import os.path as osp
    path = spec if isinstance(spec, str) else (spec or {}).get('cfg_path')
    if path:
        return osp.splitext(osp.basename(str(path).split('::')[-1]))[0]
    return str((spec or {}).get('type', 'model'))
