"""Checks on datasets."""

__all__ = ['check_nonempty', 'check_coco_files']


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
