"""Dataset builders (plain numpy + Pillow) and, when mmseg is installed, the
``FashionMNISTSegDataset`` class registered into mmseg's DATASETS (import
``tinysaver_mm.datasets`` through ``custom_imports``)."""
import warnings
from importlib import import_module
from importlib.util import find_spec

from .fmnist_det import (FMNIST_CLASSES, FMNIST_METAINFO, SPLIT_SOURCES,
                         load_split_source, make_fmnist_det, read_idx)
from .fmnist_seg import (FMNIST_SEG_CLASSES, FMNIST_SEG_METAINFO, FMNIST_SEG_PALETTE,
                         MASK_THRESHOLD, SEG_SPLITS, glyph_mask, make_fmnist_seg)

__all__ = [
    'FMNIST_CLASSES', 'FMNIST_METAINFO', 'SPLIT_SOURCES', 'read_idx',
    'load_split_source', 'make_fmnist_det', 'FMNIST_SEG_CLASSES', 'FMNIST_SEG_METAINFO',
    'FMNIST_SEG_PALETTE', 'MASK_THRESHOLD', 'SEG_SPLITS', 'glyph_mask', 'make_fmnist_seg'
]


def _register_seg_dataset() -> None:
    """Register ``FashionMNISTSegDataset`` into mmseg's DATASETS if mmseg imports."""
    if find_spec('mmseg') is None:
        return
    try:
        module = import_module('.fmnist_seg_dataset', __name__)
    except (ImportError, AssertionError) as err:  # mmseg asserts mmcv's version
        warnings.warn(f'tinysaver_mm: mmseg is installed but FashionMNISTSegDataset could '
                      f'not be imported: {err!r}. Fix the mmseg install (see docs/en/get_started.md; it '
                      f'needs ftfy, regex and mmcv<2.2.0 with ops) to use it.')
        return
    globals()['FashionMNISTSegDataset'] = module.FashionMNISTSegDataset
    __all__.append('FashionMNISTSegDataset')


_register_seg_dataset()
