"""Checks on datasets, and the one split vocabulary of every task."""
import os.path as osp
from typing import Optional, Sequence

__all__ = ['SPLITS', 'split_loader_key', 'check_nonempty', 'check_class_folders',
           'check_coco_files']

#: What each split is for, in every task (classification, detection,
#: segmentation): ``train`` fits the models, ``val`` is what the training
#: run's val loop reports and picks the best checkpoint on, ``holdout`` is
#: held out from both for calibration (thresholds, exit heads), ``test`` gives
#: the figures. A config defines ``<split>_dataloader`` for each it has.
SPLITS = ('train', 'val', 'holdout', 'test')


def split_loader_key(cfg, split: str) -> str:
    """The config key of a split's dataloader, checked.

    Args:
        cfg (Config): The config.
        split (str): One of :data:`SPLITS`.

    Returns:
        str: ``'<split>_dataloader'``.

    Raises:
        ValueError: On a split outside :data:`SPLITS`, or one the config
            has no dataloader for (the message lists those it has).
    """
    if split not in SPLITS:
        raise ValueError(f'split {split!r} must be one of {SPLITS} (train fits the models, '
                         'val picks the checkpoint, holdout calibrates, test gives the '
                         'figures).')
    key = f'{split}_dataloader'
    if cfg.get(key) is None:
        have = [s for s in SPLITS if cfg.get(f'{s}_dataloader') is not None]
        raise ValueError(f'the config has no {key} (it has the splits {have}); add one or '
                         'record another split.')
    return key


def check_nonempty(dataset, split: str) -> None:
    """Refuse an empty dataset with a message naming it.

    Args:
        dataset: Anything with ``len``.
        split (str): ``'train'``, ``'val'``, ``'test'``..., for the message.

    Raises:
        ValueError: If ``len(dataset) == 0``.
    """
    if len(dataset) == 0:
        raise ValueError(
            f'The {split} dataset ({type(dataset).__name__}) is empty; check '
            f'{split}_dataloader.dataset (data_root, ann_file, split, indices).')


def check_class_folders(dataset, split: str,
                        train_classes: Optional[Sequence[str]] = None) -> None:
    """Refuse a folder-layout dataset with an empty class folder or other classes.

    mmpretrain's ``CustomDataset`` only warns about a class folder without
    images and numbers the classes of each split by its own folders, so a
    split missing one class would silently shift every later label.

    Args:
        dataset: A built dataset; only ``CustomDataset`` without ``ann_file``
            (classes from sub-folders) is checked.
        split (str): For the message.
        train_classes (Sequence[str], optional): The training split's class
            folders, which every other split must have too.

    Raises:
        ValueError: Naming the empty class folder(s) or the classes that differ.
    """
    if type(dataset).__name__ != 'CustomDataset' or getattr(dataset, 'ann_file', ''):
        return
    classes = list(dataset.metainfo.get('classes') or [])
    counts = [0] * len(classes)
    for info in dataset.data_list:
        counts[int(info['gt_label'])] += 1
    empty = [c for c, n in zip(classes, counts) if n == 0]
    root = osp.join(dataset.data_root, dataset.data_prefix.get('img_path', ''))
    if empty:
        raise ValueError(f'The {split} split has class folder(s) without images: '
                         f'{[osp.join(root, c) for c in empty]}; add images or remove the '
                         'folder (in every split).')
    if train_classes is not None and list(train_classes) != classes:
        raise ValueError(
            f'The {split} split ({root}) has the classes {classes}, the train split '
            f'{list(train_classes)}: labels are numbered by the sorted folder names, so every '
            'split needs the same class folders.')


def check_coco_files(dataset, split: str, max_listed: int = 5) -> None:
    """Refuse a COCO-style dataset whose annotations and images disagree.

    mmdet's ``CocoDataset`` silently drops annotations whose ``image_id`` is
    not among the file's ``images``, and a missing image file only fails
    later, inside a dataloader worker. Both are checked up front here.

    Args:
        dataset: A built dataset with ``ann_file`` and ``data_list`` entries
            holding ``img_path`` (e.g. mmdet's ``CocoDataset``, built with
            ``serialize_data=False``).
        split (str): For the message.
        max_listed (int): How many offenders to name.

    Raises:
        ValueError: If image files are missing or annotations refer to images
            that the annotation file does not list.
    """
    import json
    import os.path as osp
    ann_file = getattr(dataset, 'ann_file', None)
    if not ann_file or not str(ann_file).endswith('.json') or not osp.isfile(ann_file):
        return
    missing = [d['img_path'] for d in getattr(dataset, 'data_list', [])
               if 'img_path' in d and not osp.isfile(d['img_path'])]
    if missing:
        raise ValueError(
            f'The {split} dataset lists {len(missing)} image(s) whose files do not exist, '
            f'e.g. {missing[:max_listed]}. Check data_root/data_prefix, or remove those '
            f'images from {ann_file!r}.')
    with open(ann_file) as f:
        coco = json.load(f)
    known = {img['id'] for img in coco.get('images', [])}
    orphans = sorted({a['image_id'] for a in coco.get('annotations', [])} - known)
    if orphans:
        raise ValueError(
            f'{ann_file!r} has annotations for {len(orphans)} image id(s) missing from its '
            f'"images" list (e.g. {orphans[:max_listed]}); mmdet would silently ignore '
            'them. Add the images or drop those annotations.')
