"""Per-channel mean/std of a dataset split, for its config's data_preprocessor."""
import json
import os
import os.path as osp
from typing import Optional

import numpy as np
from tqdm import tqdm

__all__ = ['dataset_stats']


def dataset_stats(cfg, split: str = 'train', out: Optional[str] = None,
                  overwrite: bool = False, config_path: str = '') -> dict:
    """Mean and std per channel, in [0, 255], of a split read with the test pipeline.

    What ``data_preprocessor = dict(mean=..., std=...)`` of a model trained on
    that split should hold (``tools/dataset_stats.py``). The test pipeline is
    used so no augmentation changes the figures; every pixel of every image
    counts once (images of different sizes weigh by their pixel count).

    Args:
        cfg (Config): A config with ``<split>_dataloader`` and ``test_dataloader``.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        out (str, optional): Also write the figures to this JSON file.
        overwrite (bool): Let ``out`` replace an existing file.
        config_path (str): The config file (never written; in the JSON).

    Returns:
        dict: ``mean``, ``std`` (lists, one per channel; RGB order for
        3-channel images, for a preprocessor with ``to_rgb=True``), ``channels``,
        ``num_images``, ``num_classes``, ``classes``, ``split``, ``data_root``,
        ``data_prefix``.

    Raises:
        ValueError: On an unknown split, a config without it, an empty or
            ill-formed dataset (see ``check_dataset_cfg``), or images of
            different channel counts.
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from tinysaver_mm.utils import check_outputs, split_loader_key
    from .runner import check_dataset_cfg
    check_outputs([out], overwrite, [config_path])
    key = split_loader_key(cfg, split)
    ds_cfg = dict(cfg[key]['dataset'], pipeline=cfg.test_dataloader.dataset.pipeline)
    check_dataset_cfg(cfg, ds_cfg, split)
    loader = dict(cfg[key], dataset=ds_cfg, batch_size=1, persistent_workers=False,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        dataloader = Runner.build_dataloader(loader, seed=0)
    total = total_sq = None
    pixels = 0
    for batch in tqdm(dataloader, desc=f'stats {split}', unit='img'):
        for img in batch['inputs']:
            x = img.double().reshape(img.shape[0], -1).numpy()
            if total is None:
                total, total_sq = np.zeros(x.shape[0]), np.zeros(x.shape[0])
            elif x.shape[0] != total.shape[0]:
                raise ValueError(f'The {split} split mixes images of {total.shape[0]} and '
                                 f'{x.shape[0]} channels; load them all alike '
                                 "(LoadImageFromFile(color_type='grayscale' or 'color')).")
            total += x.sum(1)
            total_sq += (x * x).sum(1)
            pixels += x.shape[1]
    mean = total / pixels
    std = np.sqrt(np.maximum(total_sq / pixels - mean * mean, 0.0))
    if mean.shape[0] == 3:  # LoadImageFromFile gives BGR; the preprocessor's to_rgb=True
        mean, std = mean[::-1], std[::-1]  # flips it before normalising, so report RGB
    ds = dataloader.dataset
    classes = list(ds.metainfo.get('classes') or [])
    result = dict(split=split, data_root=ds_cfg.get('data_root'),
                  data_prefix=ds_cfg.get('data_prefix'), num_images=len(ds),
                  channels=int(mean.shape[0]), mean=[round(float(v), 3) for v in mean],
                  std=[round(float(v), 3) for v in std], num_classes=len(classes),
                  classes=classes, config=config_path)
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(result, f, indent=2)
    return result
