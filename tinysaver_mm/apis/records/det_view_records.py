"""Records of a detection cascade on other views of a split: flipped images, pre-NMS candidates.

Three uses, one recorder:

- training-split records with the recording augmentation (``flip='random'``:
  each image flipped horizontally with probability 0.5, as the detectors'
  ``RandomFlip(prob=0.5)``, decided by a seeded draw per image), both models;
- the saver's self-agreement view (``flip='all'``, saver only);
- the saver's candidates before NMS (``saver_test_cfg`` overriding its
  ``test_cfg``, e.g. an NMS IoU threshold of 1.0 that suppresses nothing).

Boxes of a flipped image are mapped back to the original image (``x1 = W -
x2``), so the records describe the images of the annotation file and COCO
evaluation of them needs no flipped ground truth (AP is unchanged by a
consistent flip of both). The file is the same as
:func:`~tinysaver_mm.apis.records.record_detections`' (loadable with
``load_det_records`` when both models are recorded) plus ``flipped`` (per
image) and ``meta['view']``.
"""
import copy
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from .det_records import _pack
from .recipe import cascade_records_loader, recorded_model, records_dataloader, save_records

__all__ = ['record_det_views', 'FLIP_MODES']

FLIP_MODES = ('none', 'all', 'random')


def _unflip(instances, width: float):
    boxes = instances.bboxes.clone()
    boxes[:, 0], boxes[:, 2] = width - instances.bboxes[:, 2], width - instances.bboxes[:, 0]
    instances.bboxes = boxes
    return instances


@torch.no_grad()
def record_det_views(cfg, split: str, out: str, flip: str = 'none',
                     roles: Sequence[str] = ('saver', ), saver_test_cfg: Optional[dict] = None,
                     seed: int = 0, checkpoint: Optional[str] = None, config_path: str = '',
                     overwrite: bool = False) -> str:
    """Run a detection cascade's saver (and base) on a view of every image of a split.

    Args:
        cfg (Config): A ``TinySaverDetector`` config with a ``<split>_dataloader``.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        out (str): The ``.npz`` to write.
        flip (str): ``'none'``, ``'all'`` or ``'random'`` (probability 0.5 per
            image, seeded).
        roles (Sequence[str]): ``('saver', )`` or ``('saver', 'base')``.
        saver_test_cfg (dict, optional): Keys replacing the saver's
            ``test_cfg`` (e.g. ``dict(nms=dict(type='nms', iou_threshold=1.0),
            max_per_img=1000)`` for its pre-NMS candidates).
        seed (int): Seed of ``flip='random'``.
        checkpoint (str, optional): Weights of the whole cascade.
        config_path (str): Recorded in the metadata.
        overwrite (bool): Replace ``out`` when it exists.

    Returns:
        str: ``out``.

    Raises:
        ValueError: On an unknown flip mode or role, a saver without a
            ``test_cfg`` to override, or see ``record_detections``.
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    from tinysaver_mm.utils import check_outputs, state_dict_fingerprint
    if flip not in FLIP_MODES:
        raise ValueError(f'flip={flip!r}: choose one of {FLIP_MODES}.')
    if tuple(roles) not in (('saver', ), ('saver', 'base')):
        raise ValueError(f"roles={tuple(roles)!r}: record ('saver',) or ('saver', 'base').")
    loader, _ = cascade_records_loader(cfg, split, 'TinySaverDetector',
                                       'configs/_base_/datasets/fmnist_det.py',
                                       osp.dirname(out) or '.', config_path, 'view',
                                       [checkpoint], True)
    check_outputs([out], overwrite, [checkpoint, config_path])
    model = recorded_model(cfg, checkpoint,
                           {'model.evaluator': None, 'model.exit_rule': 'max_score'})
    saver = model.branches['saver']
    if saver_test_cfg:
        head = getattr(saver.model, 'bbox_head', None)
        if head is None or getattr(head, 'test_cfg', None) is None:
            raise ValueError('saver_test_cfg needs a one-stage saver with bbox_head.test_cfg.')
        new = copy.deepcopy(head.test_cfg)
        new.update(saver_test_cfg)
        head.test_cfg = new
    data = records_dataloader(loader)
    flips = np.random.default_rng(seed).random(len(data.dataset)) < 0.5
    got: Dict[str, list] = {r: [] for r in roles}
    macs: Dict[str, list] = {r: [] for r in ('saver', 'base')}
    feats, img_ids, shapes, flipped = [], [], [], []
    for batch in tqdm(data, desc=f'record {split} ({flip} flip)', unit='batch'):
        batch = model.data_preprocessor(batch, False)
        inputs, samples = list(batch['inputs']), batch['data_samples']
        start = len(img_ids)
        mask = [flip == 'all' or (flip == 'random' and bool(flips[start + j]))
                for j in range(len(inputs))]
        views = [img.flip(-1) if m else img for img, m in zip(inputs, mask)]
        for role in roles:
            preds, pooled = model.branches[role].predict(views, samples,
                                                         with_features=role == 'saver')
            for p, ds, m in zip(preds, samples, mask):
                got[role].append(_unflip(p, float(ds.metainfo['ori_shape'][1])) if m else p)
            if role == 'saver':
                feats.append(pooled)
        for img, ds, m in zip(inputs, samples, mask):
            img_ids.append(int(ds.metainfo['img_id']))
            shapes.append(tuple(ds.metainfo['ori_shape'][:2]))
            flipped.append(m)
            for role, value in model.image_macs([img], [ds])[0].items():
                macs[role].append(value)
    arrays = dict(img_ids=np.asarray(img_ids, dtype=np.int64),
                  ori_shapes=np.asarray(shapes, dtype=np.int64),
                  saver_feats=torch.cat(feats).numpy().astype(np.float32),
                  flipped=np.asarray(flipped, dtype=bool))
    for role in roles:
        arrays.update({f'{role}_{k}': v for k, v in _pack(got[role]).items()})
    for role in ('saver', 'base'):
        arrays[f'macs_{role}'] = np.asarray(macs[role], dtype=np.int64)
    ds = loader['dataset']
    meta = dict(config=config_path, checkpoint=checkpoint, split=split,
                ann_file=osp.join(ds.get('data_root') or '', ds['ann_file']),
                indices=repr(ds.get('indices')),
                classes=list((ds.get('metainfo') or {}).get('classes', [])),
                num_classes=model.num_classes,
                saver_fingerprint=state_dict_fingerprint(model.saver).hex(),
                num_images=len(img_ids),
                view=dict(flip=flip, roles=list(roles), seed=seed,
                          saver_test_cfg=saver_test_cfg or None))
    return save_records(out, meta, arrays)
