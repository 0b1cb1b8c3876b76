"""Dataset builders (plain numpy + Pillow)."""
from .fmnist_det import (FMNIST_CLASSES, FMNIST_METAINFO, SPLIT_SOURCES,
                         load_split_source, make_fmnist_det, read_idx)

__all__ = [
    'FMNIST_CLASSES', 'FMNIST_METAINFO', 'SPLIT_SOURCES', 'read_idx',
    'load_split_source', 'make_fmnist_det'
]
