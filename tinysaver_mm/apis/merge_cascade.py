"""One checkpoint holding a whole cascade (every stage, the evaluator and their metadata).

Host tools (mmdet's / mmpretrain's ``tools/test.py``, ``mim test``,
``init_detector``) take one weights file for the whole model. A cascade's
stages name their own checkpoints; :func:`merge_cascade` builds the cascade
of a config (loading each stage strictly) and writes its ``state_dict`` with
a ``meta`` recording where each part came from, the thresholds, the exit
rule, the class names and every part's SHA-256 fingerprint.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tinysaver_mm.utils import check_outputs, state_dict_fingerprint
from .inference import CASCADE_HOSTS, cascade_scope, init_cascade

__all__ = ['cascade_meta', 'merge_cascade']


def _spec_checkpoints(model_cfg: dict) -> List[str]:
    """The ``checkpoint=`` of every stage/part spec of a cascade model config."""
    specs = [model_cfg.get(k) for k in ('saver', 'base', 'evaluator', 'exits')]
    specs += list(model_cfg.get('mids') or [])
    return [s['checkpoint'] for s in specs
            if isinstance(s, dict) and isinstance(s.get('checkpoint'), str)]


def cascade_meta(model: torch.nn.Module, config: Optional[str] = None) -> dict:
    """What a whole-cascade checkpoint records about its cascade.

    Returns:
        dict: ``type``, ``config``, ``stages``, ``overheads``, ``exit_rule``,
        ``threshold``, ``checkpoints`` (the source file of each part),
        ``fingerprints`` (hex SHA-256 of each part's weights) and, for parts
        bound to a stage (an evaluator), ``trained_for`` (hex).
    """
    parts = list(model.stage_names) + [p for p in ('evaluator', 'exits') if
                                       getattr(model, p, None) is not None]
    fingerprints: Dict[str, str] = {p: state_dict_fingerprint(getattr(model, p)).hex()
                                    for p in parts}
    trained_for = {}
    for part in getattr(model, '_trained_for', {}):
        # bound to one stage: its fingerprint (an evaluator); to several: one per stage (ESN exits)
        bound = model.part_trained_for(part)
        trained_for[part] = next(iter(bound.values())) if len(bound) == 1 else bound
    return dict(type=type(model).__name__, config=config, stages=list(model.stage_names),
                overheads=list(model.overheads), exit_rule=model.exit_rule,
                threshold=model.threshold,
                checkpoints={k: v for k, v in model.checkpoints.items()},
                fingerprints=fingerprints, trained_for=trained_for)


def merge_cascade(config: str, out: str, cfg_options: Optional[dict] = None,
                  overwrite: bool = False) -> dict:
    """Write one checkpoint holding every part of a config's cascade.

    The file is ``{'state_dict': cascade.state_dict(), 'meta': {...}}`` with
    ``meta['tinysaver_cascade']`` from :func:`cascade_meta` and
    ``meta['dataset_meta']`` (class names), so host tools' ``CKPT`` argument
    and mmengine's ``load_from`` load the whole cascade (a cascade refuses an
    incomplete or foreign state dict, see ``BaseCascade``).

    Args:
        config (str): The cascade config.
        out (str): The ``.pth`` to write.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        overwrite (bool): Replace ``out`` when it exists.

    Returns:
        dict: The ``meta`` written.

    Raises:
        FileNotFoundError: If the config does not exist.
        ValueError: If ``out`` is the config or a stage checkpoint.
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config {config!r} does not exist.')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_outputs([out], overwrite, [config] + _spec_checkpoints(cfg.model))
    if cfg.model.get('type') not in CASCADE_HOSTS:
        raise TypeError(f'The config\'s model is a {cfg.model.get("type")}, not a TinySaver '
                        'cascade; its own checkpoint is already one file.')
    with DefaultScope.overwrite_default_scope(cascade_scope(cfg)):  # the caller's scope kept
        model = init_cascade(cfg)
    meta = dict(tinysaver_cascade=cascade_meta(model, osp.basename(config)))
    if getattr(model, 'dataset_meta', None):
        meta['dataset_meta'] = dict(model.dataset_meta)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), out)
    return meta
