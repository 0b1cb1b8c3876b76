"""Checks on datasets."""

__all__ = ['check_nonempty']


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
