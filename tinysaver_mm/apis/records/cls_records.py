"""Per-sample records of models on a dataset: what calibration works from."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from tqdm import tqdm

from tinysaver_mm.core import CONFIDENCE_RULES, confidence_scores
from .recipe import recorded_model, records_dataloader, records_loader

__all__ = ['model_stages', 'predict_stages', 'record', 'dataset_identity']

def model_stages(model) -> Dict[str, torch.nn.Module]:
    """What is recorded, each with the module whose weights it depends on.

    The stages of a cascade, or ``{'model': model}`` for a plain classifier;
    for a cascade with exits inside a stage (``TinySaverESN``: it has
    ``route_probs``) its routing steps, the exits' steps naming the exits.
    """
    if hasattr(model, 'route_probs'):
        return {n: getattr(model, n if n in model.stage_names else model.train_part)
                for n in model.route_names}
    names = getattr(model, 'stage_names', None)
    return {n: getattr(model, n) for n in names} if names else {'model': model}


def _batch_probs(model, stages: Dict[str, torch.nn.Module],
                 inputs) -> Dict[str, torch.Tensor]:
    """Class probabilities of everything recorded on one raw batch (no routing)."""
    from tinysaver_mm.models.classifiers import classifier_probs, preprocess
    if hasattr(model, 'route_probs'):
        return {r: p.cpu() for r, p in model.route_probs(inputs).items()}
    return {role: classifier_probs(stage, preprocess(stage, inputs), role).cpu()
            for role, stage in stages.items()}


def _step_macs(model, stages: Dict[str, torch.nn.Module], inputs) -> Dict[str, int]:
    """MACs per image of everything recorded, on the first image of a raw batch.

    A routing step's are its own (what it adds to the steps before it), and
    ``base_alone`` the plain base's; a stage's are the whole stage's.
    """
    from tinysaver_mm.models.classifiers import preprocess
    from tinysaver_mm.utils import measure_macs
    if hasattr(model, 'route_probs'):
        return {r: int(model.measure_part(r, inputs[0]))
                for r in tuple(stages) + ('base_alone', )}
    return {role: measure_macs(stage, preprocess(stage, inputs)[:1])
            for role, stage in stages.items()}


@torch.no_grad()
def predict_stages(model, dataloader, desc: str = 'records') -> Dict[str, np.ndarray]:
    """Class probabilities of each stage (no routing) on a whole dataloader.

    Args:
        model: A plain mmpretrain classifier or a TinySaver cascade.
        dataloader: Yields raw batches with ``gt_label`` in the data samples.
        desc (str): Progress-bar label.

    Returns:
        dict: ``labels`` and ``sample_idx`` (N,), and per stage (or routing
        step, see :func:`model_stages`) ``probs_<stage>`` (N, num_classes)
        and ``macs_<stage>`` (MACs/image; a routing step's own, plus
        ``macs_base_alone``).

    Raises:
        ValueError: If the dataset is empty.
    """
    if len(dataloader.dataset) == 0:
        raise ValueError(f'{desc}: the dataset is empty; check the dataloader.')
    stages = model_stages(model)
    model.eval()
    probs: Dict[str, list] = {r: [] for r in stages}
    macs: Dict[str, int] = {}
    labels, indices = [], []
    for batch in tqdm(dataloader, desc=desc, unit='batch'):
        if not macs:
            macs = _step_macs(model, stages, batch['inputs'])
        for role, p in _batch_probs(model, stages, batch['inputs']).items():
            probs[role].append(p)
        for ds in batch['data_samples']:
            labels.append(int(ds.gt_label[0]))
            indices.append(int(ds.get('sample_idx', len(indices))))
    out = {f'probs_{r}': torch.cat(p).numpy() for r, p in probs.items()}
    out['labels'] = np.asarray(labels, dtype=np.int64)
    out['sample_idx'] = np.asarray(indices, dtype=np.int64)
    out = _gather_ranks(out)
    out.update({f'macs_{r}': np.int64(m) for r, m in macs.items()})
    return out


def _gather_ranks(out: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Join the shards of a distributed run, in sample order, once each.

    mmengine's DefaultSampler gives each rank a shard and pads the last one
    with repeats; every rank gets the joined arrays with duplicates dropped.
    """
    from mmengine.dist import all_gather_object, get_world_size
    if get_world_size() == 1:
        return out
    parts = all_gather_object(out)
    joined = {k: np.concatenate([p[k] for p in parts]) for k in out}
    _, first = np.unique(joined['sample_idx'], return_index=True)
    return {k: v[first] for k, v in joined.items()}


def record(cfg, checkpoint: Optional[str], split: str, aug: bool = False,
           out_dir: str = 'records', config_path: str = '',
           overwrite: bool = False) -> List[str]:
    """Record every stage of a config's model on one split (``tools/record.py``).

    Without ``aug`` the split is read with the test pipeline; with ``aug``
    (training split only) with the config's training pipeline, as the paper
    does for saver selection. Samples are always in dataset order.

    Args:
        cfg (Config): Model and dataloader config.
        checkpoint (str, optional): Weights for the whole model (strict).
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        aug (bool): Use the training augmentation (train split only).
        out_dir (str): Where to write ``<config>_<split>[_aug]_<stage>.npz``.
        config_path (str): Recorded in the metadata.
        overwrite (bool): Replace record files that exist already.

    Returns:
        list[str]: The files written.

    Raises:
        ValueError: On an unknown split, ``aug`` off the train split, a
            config without that split, or an empty dataset.
        OutputExistsError: If a record file exists and ``overwrite`` is False.
    """
    from tinysaver_mm.utils import check_outputs, pipeline_settings, stage_model_name, state_dict_fingerprint
    loader = records_loader(cfg, split, aug)
    model = recorded_model(cfg, checkpoint)
    name = osp.splitext(osp.basename(config_path))[0] or 'model'
    paths = {role: osp.join(out_dir, f'{name}_{split}{"_aug" if aug else ""}'
                            f'{"" if role == "model" else "_" + role}.npz')
             for role in model_stages(model)}
    check_outputs(paths.values(), overwrite, [checkpoint, config_path])
    rec = predict_stages(model, records_dataloader(loader), f'record {split}')
    ds = loader['dataset']
    meta = dict(config=config_path, checkpoint=checkpoint, split=split, aug=bool(aug),
                dataset=dataset_identity(ds),
                num_samples=int(len(rec['labels'])),
                test_pipeline=pipeline_settings(ds.get('pipeline')))
    from mmengine.dist import is_main_process
    if not is_main_process():
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []
    stages = model_stages(model)
    for role, path in paths.items():
        probs = rec[f'probs_{role}']
        fields = {f'conf_{rule}': confidence_scores(torch.from_numpy(probs), rule).numpy()
                  for rule in CONFIDENCE_RULES}
        spec = cfg.model.get(role) if role != 'model' else None
        stage_meta = dict(meta, stage=role, num_classes=int(probs.shape[1]),
                          model=stage_model_name(spec if isinstance(spec, dict) and spec.get(
                              'cfg_path') else config_path or 'model'),
                          macs_per_img=int(rec[f'macs_{role}']),
                          fingerprint=state_dict_fingerprint(stages[role]).hex(),
                          settings=_stage_settings(cfg, model, role))
        if 'macs_base_alone' in rec:  # routing steps: each costs what it adds
            stage_meta.update(route_steps=list(stages),
                              macs_base_alone=int(rec['macs_base_alone']))
            if role not in ('saver', 'base'):
                stage_meta['model'] = f'{name}:{role}'
        np.savez_compressed(path, probs=probs.astype(np.float16), pred=probs.argmax(1),
                            labels=rec['labels'], sample_idx=rec['sample_idx'],
                            meta=json.dumps(stage_meta), **fields)
        written.append(path)
    return written


def _stage_settings(cfg, model, role: str) -> Optional[dict]:
    """What shapes a recorded stage's outputs (see :func:`~tinysaver_mm.utils.exit_input_settings`):
    a cascade stage's as the cascade built it, a plain model's from its config; None for an
    ESN's inner step."""
    from tinysaver_mm.utils import exit_input_settings, model_cfg_of
    if role == 'model':
        return exit_input_settings(model_cfg_of(cfg))
    return getattr(model, 'exit_settings', {}).get(role)


def dataset_identity(ds: dict) -> dict:
    """What tells one recorded dataset from another, as JSON-able metadata.

    The type, root, split, the folder or annotation file inside the root
    (``data_prefix``, ``ann_file``: two image folders under one root differ
    there) and the subset (``indices``).

    Args:
        ds (dict): A dataset config.

    Returns:
        dict: ``type, data_root, split, data_prefix, ann_file, indices``.
    """
    prefix = ds.get('data_prefix')
    return dict(type=ds.get('type'), data_root=ds.get('data_root'), split=ds.get('split'),
                data_prefix=prefix if isinstance(prefix, (str, type(None))) else dict(prefix),
                ann_file=ds.get('ann_file'), indices=repr(ds.get('indices')))
