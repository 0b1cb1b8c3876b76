"""Records of a segmentation cascade's saver and base on a dataset split."""
from typing import Dict, Optional

import numpy as np
import torch
from tqdm import tqdm

from tinysaver_mm.core.seg_features import seg_exit_features
from tinysaver_mm.evaluation.functional import image_areas
from .loading import load_records
from .recipe import (cascade_records_loader, recorded_model, records_dataloader,
                     save_records, saver_binding)

__all__ = ['record_segmentation', 'load_seg_records']

ROLES = ('saver', 'base')


@torch.no_grad()
def record_segmentation(cfg, split: str, out_dir: str = 'records',
                        checkpoint: Optional[str] = None, config_path: str = '',
                        overwrite: bool = False) -> str:
    """Run a segmentation cascade's saver and base on every image of a split.

    Both segmentors see each image exactly as inside the cascade (its test
    pipeline, then each stage's own preprocessor and predict path); nothing
    is routed. Per image the file keeps each model's per-class areas against
    the labels (``IoUMetric``'s, so any routing's mIoU is exact from them),
    every confidence rule's score of the saver, the evaluator head's input
    row, and each model's MACs.

    Args:
        cfg (Config): A ``TinySaverSegmentor`` config with a
            ``<split>_dataloader`` whose samples carry ``gt_sem_seg``.
        split (str): One of :data:`~tinysaver_mm.utils.SPLITS`.
        out_dir (str): Output folder.
        checkpoint (str, optional): Weights of the whole cascade (strict).
        config_path (str): Recorded in the metadata and the file name.
        overwrite (bool): Replace the records file when it exists.

    Returns:
        str: The ``.npz`` written: ``img_paths``, ``ori_shapes``,
        ``<role>_areas`` (N, 4, C), ``conf_<rule>`` (N,), ``saver_feats``,
        ``macs_<role>`` (N,) and ``meta`` (JSON).

    Raises:
        ValueError: On an unknown split, a config without that dataloader or
            without a TinySaverSegmentor, an empty dataset, or images without
            labels.
        OutputExistsError: If the records file exists and ``overwrite`` is
            False.
    """
    from mmseg.registry import MODELS

    from tinysaver_mm.models.segmentors.seg_report import confidence_rules_of, rule_scores
    loader, path = cascade_records_loader(cfg, split, 'TinySaverSegmentor',
                                          'configs/_base_/datasets/fmnist_seg.py', out_dir,
                                          config_path, 'seg', [checkpoint], overwrite)
    # nothing is routed here: no evaluator (it is trained from these records), any
    # confidence rule and threshold (every rule's score is recorded)
    model = recorded_model(cfg, checkpoint, {
        'model.evaluator': None, 'model.threshold': 1.0, 'model.report': False,
        'model.exit_rule': confidence_rules_of(MODELS.get('TinySaverSegmentor'))[0]})
    num_classes = int(model.num_classes)
    areas: Dict[str, list] = {r: [] for r in ROLES}
    macs: Dict[str, list] = {r: [] for r in ROLES}
    confs: Dict[str, list] = {}
    feats, paths, shapes = [], [], []
    for batch in tqdm(records_dataloader(loader), desc=f'record {split}',
                      unit='batch'):
        batch = model.data_preprocessor(batch, False)
        inputs, samples = batch['inputs'], batch['data_samples']
        outs = {r: model.run_stage(r, inputs, samples) for r in ROLES}
        for rule, score in rule_scores(model, outs['saver'], samples).items():
            confs.setdefault(rule, []).append(score.numpy())
        feats.append(seg_exit_features(
            [o.seg_logits.data.float().softmax(0) for o in outs['saver']]))
        for i, ds in enumerate(samples):
            if 'gt_sem_seg' not in ds:
                raise ValueError(f'{ds.metainfo.get("img_path")} has no gt_sem_seg: records '
                                 'need labelled images (LoadAnnotations in the pipeline).')
            gt = ds.gt_sem_seg.data[0].cpu().numpy()
            for r in ROLES:
                pred = outs[r][i].pred_sem_seg.data[0].cpu().numpy()
                areas[r].append(image_areas(pred, gt, num_classes))
            paths.append(str(ds.metainfo.get('img_path', '')))
            shapes.append(tuple(ds.metainfo['ori_shape'][:2]))
        for per_image in model.image_macs(inputs, samples):
            for r in ROLES:
                macs[r].append(per_image[r])
    if not paths:
        raise ValueError(f'the {split} split has no image.')
    arrays = dict(img_paths=np.asarray(paths), ori_shapes=np.asarray(shapes, dtype=np.int64),
                  saver_feats=torch.cat(feats).numpy().astype(np.float32))
    for r in ROLES:
        arrays[f'{r}_areas'] = np.stack(areas[r]).astype(np.int64)
        arrays[f'macs_{r}'] = np.asarray(macs[r], dtype=np.int64)
    for rule, parts in confs.items():
        arrays[f'conf_{rule}'] = np.concatenate(parts)
    ds = loader['dataset']
    meta = dict(config=config_path, checkpoint=checkpoint, split=split,
                data_root=ds.get('data_root'), data_prefix=ds.get('data_prefix'),
                indices=repr(ds.get('indices')),
                classes=list((getattr(model, 'dataset_meta', None) or {}).get('classes', [])),
                num_classes=num_classes, rules=sorted(confs),
                **saver_binding(model, ds),
                num_images=len(paths))
    return save_records(path, meta, arrays)


def load_seg_records(path: str) -> dict:
    """Load segmentation records with their metadata under ``meta``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a segmentation records file, or holds no
            image or a non-finite confidence.
    """
    return load_records(path, 'img_paths', 'segmentation records',
                        required=('saver_areas', 'base_areas', 'saver_feats', 'macs_saver',
                                  'macs_base'))
