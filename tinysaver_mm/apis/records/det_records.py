"""Records of a detection cascade's saver and base on a dataset split."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from .loading import load_records
from .recipe import (cascade_records_loader, recorded_model, records_dataloader,
                     save_records, saver_binding)

__all__ = ['record_detections', 'load_det_records', 'instances_of',
           'check_det_aligned']

ROLES = ('saver', 'base')


def _pack(instances: Sequence) -> Dict[str, np.ndarray]:
    """Concatenate per-image detections with a per-image count."""
    counts = np.array([len(p.scores) for p in instances], dtype=np.int64)
    cat = (lambda key, dim: np.concatenate(
        [getattr(p, key).detach().cpu().numpy().reshape(-1, *dim) for p in instances])
        if len(instances) else np.zeros((0, *dim)))
    return dict(counts=counts, bboxes=cat('bboxes', (4, )).astype(np.float32),
                scores=cat('scores', ()).astype(np.float32),
                labels=cat('labels', ()).astype(np.int64))


def instances_of(rec: dict, role: str) -> List:
    """Per-image ``InstanceData`` (bboxes, scores, labels) of one role."""
    from mmengine.structures import InstanceData
    counts = rec[f'{role}_counts']
    ends = np.cumsum(counts)
    out = []
    for start, end in zip(ends - counts, ends):
        inst = InstanceData()
        inst.bboxes = torch.from_numpy(rec[f'{role}_bboxes'][start:end])
        inst.scores = torch.from_numpy(rec[f'{role}_scores'][start:end])
        inst.labels = torch.from_numpy(rec[f'{role}_labels'][start:end])
        out.append(inst)
    return out


@torch.no_grad()
def record_detections(cfg, split: str, out_dir: str = 'records',
                      checkpoint: Optional[str] = None, config_path: str = '',
                      overwrite: bool = False) -> str:
    """Run a detection cascade's saver and base on every image of a split.

    Both detectors see each image exactly as inside the cascade (the
    cascade's test pipeline, then each branch's own transforms and
    preprocessor); nothing is routed. The saver's pooled neck features are
    kept for the evaluator head. The evaluator in the config is not needed.

    Args:
        cfg (Config): A ``TinySaverDetector`` config with a
            ``<split>_dataloader``.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        out_dir (str): Output folder.
        checkpoint (str, optional): Weights of the whole cascade (strict).
        config_path (str): Recorded in the metadata and the file name.
        overwrite (bool): Replace the records file when it exists.

    Returns:
        str: The ``.npz`` written: ``img_ids``, ``ori_shapes``,
        ``saver_feats``, per role ``<role>_counts/bboxes/scores/labels`` and
        ``macs_<role>`` (per image), and ``meta`` (JSON).

    Raises:
        ValueError: On an unknown split, a config without that dataloader or
            without a TinySaverDetector, or an empty dataset.
        OutputExistsError: If the records file exists and ``overwrite`` is
            False.
    """

    loader, path = cascade_records_loader(cfg, split, 'TinySaverDetector',
                                          'configs/_base_/datasets/fmnist_det.py', out_dir,
                                          config_path, 'det', [checkpoint], overwrite)
    model = recorded_model(cfg, checkpoint,
                           {'model.evaluator': None, 'model.exit_rule': 'max_score'})
    got: Dict[str, list] = {r: [] for r in ROLES}
    feats, img_ids, shapes = [], [], []
    macs: Dict[str, list] = {r: [] for r in ROLES}
    for batch in tqdm(records_dataloader(loader), desc=f'record {split}',
                      unit='batch'):
        batch = model.data_preprocessor(batch, False)
        inputs, samples = list(batch['inputs']), batch['data_samples']
        preds, pooled = model.branches['saver'].predict(inputs, samples, with_features=True)
        got['saver'] += preds
        got['base'] += model.branches['base'].predict(inputs, samples)[0]
        feats.append(pooled)
        for img, ds in zip(inputs, samples):
            img_ids.append(int(ds.metainfo['img_id']))
            shapes.append(tuple(ds.metainfo['ori_shape'][:2]))
            for role, value in model.image_macs([img], [ds])[0].items():
                macs[role].append(value)
    arrays = dict(img_ids=np.asarray(img_ids, dtype=np.int64),
                  ori_shapes=np.asarray(shapes, dtype=np.int64),
                  saver_feats=torch.cat(feats).numpy().astype(np.float32))
    for role in ROLES:
        arrays.update({f'{role}_{k}': v for k, v in _pack(got[role]).items()})
        arrays[f'macs_{role}'] = np.asarray(macs[role], dtype=np.int64)
    ds = loader['dataset']
    classes = list((getattr(model, 'dataset_meta', None) or {}).get('classes', [])) or list(
        (ds.get('metainfo') or {}).get('classes', []))
    meta = dict(config=config_path, checkpoint=checkpoint, split=split,
                ann_file=osp.join(ds.get('data_root') or '', ds['ann_file']),
                indices=repr(ds.get('indices')), classes=classes,
                num_classes=model.num_classes,
                **saver_binding(model, ds),
                num_images=len(img_ids))
    return save_records(path, meta, arrays)


def load_det_records(path: str) -> dict:
    """Load detection records with their metadata under ``meta``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it holds no image.
    """
    return load_records(path, 'img_ids', 'detection records',
                        required=('ori_shapes', 'saver_feats', 'macs_saver', 'macs_base'))


def check_det_aligned(a: dict, b: dict, what: str = 'records') -> None:
    """Refuse two record sets made for different savers or class sets.

    Raises:
        ValueError: Naming the field that differs.
    """
    for key in ('saver_fingerprint', 'num_classes'):
        if a['meta'][key] != b['meta'][key]:
            raise ValueError(f'{what} differ in {key} ({a["meta"][key]!r} vs '
                             f'{b["meta"][key]!r}): record both with the same cascade.')
