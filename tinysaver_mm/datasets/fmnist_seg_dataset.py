"""mmseg dataset class of the Fashion-MNIST segmentation set."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .fmnist_seg import FMNIST_SEG_METAINFO

__all__ = ['FashionMNISTSegDataset']


@DATASETS.register_module()
class FashionMNISTSegDataset(BaseSegDataset):
    """The set ``make_fmnist_seg`` writes, read as mmseg's ``BaseSegDataset``.

    Images are ``<split>/img/*.png`` and label maps ``<split>/ann/*.png``
    (0 background, 1..10 the garment classes, no reduced zero label); pass
    them as ``data_prefix=dict(img_path='train/img', seg_map_path='train/ann')``.

    Args:
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        seg_map_suffix (str): Label map suffix. Defaults to ``'.png'``.
        reduce_zero_label (bool): Must stay False: label 0 is the
            background class here, not "ignore".
        **kwargs: Passed to ``BaseSegDataset``.

    Raises:
        ValueError: If ``reduce_zero_label`` is True.
    """

    METAINFO = FMNIST_SEG_METAINFO

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        if reduce_zero_label:
            raise ValueError('FashionMNISTSegDataset: reduce_zero_label=True would turn '
                             'the background class (0) into ignore (255); leave it False.')
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)
