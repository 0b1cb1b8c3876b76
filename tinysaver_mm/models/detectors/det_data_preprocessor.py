"""The detection cascade's own data preprocessor: collate, and leave samples as mmdet's do."""
from typing import Union

from mmdet.registry import MODELS
from mmengine.model import BaseDataPreprocessor

__all__ = ['TinySaverDetDataPreprocessor']


@MODELS.register_module()
class TinySaverDetDataPreprocessor(BaseDataPreprocessor):
    """Collate a raw detection batch for a cascade (each detector preprocesses for itself).

    Images stay raw (uint8, unpadded): every stage applies its own transforms
    and ``data_preprocessor``. The data samples are left as mmdet's
    ``DetDataPreprocessor`` leaves them, so host tools reading them work:
    ground-truth boxes become plain tensors (mmdet's ``boxtype2tensor``, which
    its visualizer needs) and each sample gets ``pad_shape``, here the raw
    image's own shape (the cascade pads nothing; a stage's own preprocessor
    sets its own on its own samples).
    """

    def forward(self, data: dict, training: bool = False) -> Union[dict, list]:
        """Collate ``data`` and convert its samples' box types to tensors."""
        from mmdet.models.utils import samplelist_boxtype2tensor
        data = super().forward(data, training)
        samples = data.get('data_samples') if isinstance(data, dict) else None
        if samples:
            samplelist_boxtype2tensor(samples)
            for img, ds in zip(data['inputs'], samples):
                if 'pad_shape' not in ds.metainfo:
                    ds.set_metainfo(dict(pad_shape=tuple(img.shape[-2:])))
        return data
