"""What recording any model on a split starts with: the loader, the model, the file.

Every recorder (classification, detection, segmentation) reads its split the
same way: the ``<split>_dataloader`` of the config, unshuffled, with the test
pipeline (classification may ask for the training augmentation instead), its
dataset checked, seeded; and records the model :func:`recorded_model` builds.
"""
import json
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ['records_loader', 'records_dataloader', 'recorded_model', 'cascade_records_loader',
           'saver_binding', 'save_records']


def records_loader(cfg, split: str, aug: bool = False, cascade_type: Optional[str] = None,
                   config_path: str = '', dataset_base: Optional[str] = None) -> dict:
    """Check a record request and build its unshuffled loader config.

    Args:
        cfg (Config): The config.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        aug (bool): Read the split with the config's training augmentation
            (training split only); else with the test pipeline.
        cascade_type (str, optional): The model type the config must have.
        config_path (str): The config's path (named in errors).
        dataset_base (str, optional): A config to point to for a missing
            dataloader.

    Returns:
        dict: The loader config (samples always in dataset order).

    Raises:
        ValueError: On an unknown split, ``aug`` off the train split, a
            config without that dataloader or of another model type, or an
            empty dataset.
    """
    from tinysaver_mm.utils import split_loader_key
    from ..runner import check_dataset_cfg
    try:
        key = split_loader_key(cfg, split)
    except ValueError as e:
        if dataset_base is None:
            raise
        raise ValueError(f'{e} (see {dataset_base})') from None
    if aug and split != 'train':
        raise ValueError('--aug records the training split with its training '
                         f'augmentation; it does not apply to split {split!r}.')
    if cascade_type is not None and cfg.model.get('type') != cascade_type:
        raise ValueError(f'{config_path or "the config"} has model type '
                         f'{cfg.model.get("type")!r}; record with a {cascade_type} '
                         'config (its saver and base are recorded together).')
    loader = dict(cfg[key], sampler=dict(type='DefaultSampler', shuffle=False),
                  persistent_workers=False)
    if not aug:
        loader['dataset'] = dict(loader['dataset'],
                                 pipeline=cfg.test_dataloader.dataset.pipeline)
    check_dataset_cfg(cfg, loader['dataset'], split)
    return loader


def records_dataloader(loader: dict):
    """The dataloader of :func:`records_loader`'s config, seeded (a fixed seed gives
    every model the same augmented images)."""
    from mmengine.runner import Runner
    return Runner.build_dataloader(loader, seed=0)


def recorded_model(cfg, checkpoint: Optional[str] = None, cfg_options: Optional[dict] = None):
    """The model a config records: a cascade through :func:`init_cascade`, a plain
    classifier built in its scope; whole-model weights loaded strictly.

    Both leave the model's scope current, so :func:`records_dataloader` finds
    its transforms.

    Args:
        cfg (Config): The config.
        checkpoint (str, optional): Weights of the whole model.
        cfg_options (dict, optional): Overrides of a cascade's config (e.g.
            no evaluator: records are what it is trained from).
    """
    from ..inference import CASCADE_HOSTS, init_cascade
    if cfg.model.get('type') in CASCADE_HOSTS:
        return init_cascade(cfg, checkpoint, cfg_options)
    from mmengine.registry import init_default_scope

    from tinysaver_mm.utils import load_checkpoint_strict, model_cfg_of
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    model = MODELS.build(model_cfg_of(cfg))
    if checkpoint:
        load_checkpoint_strict(model, checkpoint)
    return model


def cascade_records_loader(cfg, split: str, cascade_type: str, dataset_base: str,
                           out_dir: str, config_path: str, suffix: str,
                           inputs: Sequence[Optional[str]] = (),
                           overwrite: bool = False) -> Tuple[dict, str]:
    """:func:`records_loader` for a cascade recorded into one file, and that file.

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
        ValueError: As :func:`records_loader`.
        OutputExistsError: If the records file exists and ``overwrite`` is
            False (checked before any image is run).
    """
    from tinysaver_mm.utils import check_outputs
    loader = records_loader(cfg, split, cascade_type=cascade_type, config_path=config_path,
                            dataset_base=dataset_base)
    name = osp.splitext(osp.basename(config_path))[0] or 'cascade'
    path = osp.join(out_dir, f'{name}_{split}_{suffix}.npz')
    check_outputs([path], overwrite, [*inputs, config_path])
    return loader, path


def saver_binding(model, dataset: dict) -> dict:
    """What a cascade's records bind a head or threshold fitted on them to: the
    saver's weights (``saver_fingerprint``), its exit-input settings
    (``saver_settings``) and the dataset's test-pipeline sizing (``test_pipeline``)."""
    from tinysaver_mm.utils import pipeline_settings, state_dict_fingerprint
    return dict(saver_fingerprint=state_dict_fingerprint(model.saver).hex(),
                saver_settings=model.exit_settings['saver'],
                test_pipeline=pipeline_settings(dataset.get('pipeline')))


def save_records(path: str, meta: dict, arrays: dict) -> str:
    """Write a records file (``meta`` as JSON beside the arrays); its path."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return path
