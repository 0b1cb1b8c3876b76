"""The config's test pipeline on decoded request images, as ``tools/test.py`` runs it.

``tools/test.py`` reads each image through the test dataloader: the dataset
gives an array (Fashion-MNIST) or a file path that the first transform loads
(mmcv's ``LoadImageFromFile``); the rest of the pipeline resizes and packs;
the dataloader collates; the cascade's data preprocessor casts. A served image
takes the same path from its bytes: the loading transform's own decoding
settings (``color_type``, ``imdecode_backend``, ``to_float32``) decode them,
annotation loaders are left out (a request has none), and the other
transforms, the collate function and the preprocessor are the config's.
"""
import copy
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from .decode import RequestLimits, check_image_bytes, decode_image
from .errors import RequestError

__all__ = ['RequestPipeline', 'expected_channels']

LOADERS = ('LoadImageFromFile', )
ANNOTATIONS = ('LoadAnnotations', )


def _name(transform: dict) -> str:
    kind = transform.get('type', '')
    return kind.split('.')[-1] if isinstance(kind, str) else getattr(kind, '__name__', '')


def expected_channels(cascade: nn.Module) -> Optional[int]:
    """Channels the saver's first convolution takes (None when it has none)."""
    stage = getattr(cascade, cascade.stage_names[0])
    conv = next((m for m in stage.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else int(conv.in_channels)


class RequestPipeline:
    """Decode request images and turn them into the cascade's data batch.

    Args:
        cfg (Config): The cascade's config (``test_dataloader`` is read).
        cascade (nn.Module): The cascade (its preprocessor, its saver's
            channel count).
        limits (RequestLimits, optional): Request limits.

    Raises:
        ValueError: If the config has no test pipeline.
    """

    def __init__(self, cfg, cascade: nn.Module, limits: Optional[RequestLimits] = None):
        from mmengine.dataset import Compose
        from mmengine.registry import FUNCTIONS, DefaultScope
        loader_cfg = cfg.get('test_dataloader') or {}
        dataset = loader_cfg.get('dataset') or {}
        pipeline = dataset.get('pipeline')
        if pipeline is None:
            raise ValueError('The config has no test_dataloader.dataset.pipeline: a served '
                             'image goes through the config\'s test pipeline.')
        pipeline = [copy.deepcopy(dict(t)) for t in pipeline]
        self.loader = None
        if pipeline and _name(pipeline[0]) in LOADERS:
            self.loader = pipeline.pop(0)
        self.dropped = [_name(t) for t in pipeline if any(a in _name(t) for a in ANNOTATIONS)]
        pipeline = [t for t in pipeline if not any(a in _name(t) for a in ANNOTATIONS)]
        from tinysaver_mm.apis import cascade_scope
        scope = cascade_scope(cfg)
        with DefaultScope.overwrite_default_scope(scope):
            self.transforms = Compose(pipeline)
            collate = loader_cfg.get('collate_fn') or dict(type='pseudo_collate')
            collate = dict(collate)
            self.collate = FUNCTIONS.get(collate.pop('type'))
            if collate:
                import functools
                self.collate = functools.partial(self.collate, **collate)
        self.cascade, self.limits = cascade, limits or RequestLimits()
        self.channels = expected_channels(cascade)
        if self.loader is None:
            self.flag, self.backend, self.to_float32 = 'unchanged', None, False
        else:
            self.flag = self.loader.get('color_type', 'color')
            self.backend = self.loader.get('imdecode_backend', 'cv2')
            self.to_float32 = bool(self.loader.get('to_float32', False))

    def decode(self, data: bytes, where: str = 'the image') -> np.ndarray:
        """Check and decode one image's bytes, refusing another channel count.

        Raises:
            RequestError: As :func:`check_image_bytes`; 400 when the decoded
                image's channels differ from the saver's input channels.
        """
        check_image_bytes(data, self.limits, where)
        img = decode_image(data, self.flag, self.backend, self.to_float32, where)
        channels = 1 if img.ndim == 2 else int(img.shape[2])
        if self.channels is not None and channels != self.channels:
            raise RequestError(400, f'{where} has {channels} channel(s) but the model takes '
                               f'{self.channels}-channel images; send '
                               + ('a grayscale' if self.channels == 1 else
                                  f'a {self.channels}-channel') + ' PNG/JPEG.',
                               'wrong_channels')
        return img

    def results(self, img: np.ndarray) -> Dict[str, Any]:
        """The transform input for one decoded image (what the loader would give)."""
        if self.loader is None:
            return dict(img=img)
        shape = img.shape[:2]
        return dict(img=img, img_shape=shape, ori_shape=shape, img_path=None, img_id=None)

    def batch(self, images: List[np.ndarray]) -> dict:
        """The cascade's data batch for decoded images (test pipeline, collate, preprocessor).

        Returns:
            dict: ``inputs`` and ``data_samples``, ready for ``predict``.
        """
        data = self.collate([self.transforms(self.results(img)) for img in images])
        with torch.no_grad():
            return self.cascade.data_preprocessor(data, False)
