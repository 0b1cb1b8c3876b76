"""What recording any cascade's stages on a split starts with (det, seg)."""
import json
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ['cascade_records_loader', 'save_records']

def cascade_records_loader(cfg, split: str, cascade_type: str, dataset_base: str,
                           out_dir: str, config_path: str, suffix: str,
                           inputs: Sequence[Optional[str]] = (),
                           overwrite: bool = False) -> Tuple[dict, str]:
    """Check a record request and build its unshuffled, test-pipeline loader config.

    Args:
        cfg (Config): The cascade config.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        cascade_type (str): The model type the config must have.
        dataset_base (str): A config to point to for a missing dataloader.
        out_dir (str): Output folder.
        config_path (str): Names the file (``<config>_<split>_<suffix>.npz``).
        suffix (str): The task's file suffix (``det``, ``seg``).
        inputs (Sequence[str | None]): Files read (never overwritten).
        overwrite (bool): Replace the records file when it exists.

    Returns:
        tuple: ``(loader_cfg, records_path)``.

    Raises:
        ValueError: On an unknown split, a config without that dataloader or
            of another model type, or an empty dataset.
        OutputExistsError: If the records file exists and ``overwrite`` is
            False (checked before any image is run).
    """
    from tinysaver_mm.utils import check_outputs, split_loader_key
    from ..runner import check_dataset_cfg
    try:
        key = split_loader_key(cfg, split)
    except ValueError as e:
        raise ValueError(f'{e} (see {dataset_base})') from None
    if cfg.model.get('type') != cascade_type:
        raise ValueError(f'{config_path or "the config"} has model type '
                         f'{cfg.model.get("type")!r}; record with a {cascade_type} '
                         'config (its saver and base are recorded together).')
    loader = dict(cfg[key], sampler=dict(type='DefaultSampler', shuffle=False),
                  persistent_workers=False)
    loader['dataset'] = dict(loader['dataset'], pipeline=cfg.test_dataloader.dataset.pipeline)
    check_dataset_cfg(cfg, loader['dataset'], split)
    name = osp.splitext(osp.basename(config_path))[0] or 'cascade'
    path = osp.join(out_dir, f'{name}_{split}_{suffix}.npz')
    check_outputs([path], overwrite, [*inputs, config_path])
    return loader, path


def save_records(path: str, meta: dict, arrays: dict) -> str:
    """Write a records file (``meta`` as JSON beside the arrays); its path."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return path
