"""One branch (saver or base) of a detection cascade: own pipeline, own preprocessor.

The cascade's dataloader gives raw images (uint8 CHW tensors, as mmdet's
``PackDetInputs`` makes them). A branch may first apply extra transforms of
its own (e.g. the saver's ``Resize`` to a smaller scale, or a Faster R-CNN
base's 1333x800 resize when the cascade's pipeline is RTMDet's), then its
own ``data_preprocessor`` (normalisation, padding), then predicts. Boxes come
back in original image coordinates, as mmdet's ``predict(rescale=True)`` gives
them, whatever the branch's resolution.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

__all__ = ['DetBranch', 'detector_num_classes', 'pool_valid']


class DetBranch:
    """Runs one mmdet detector on raw images with its own transforms.

    Args:
        model (nn.Module): The mmdet detector (with its data preprocessor).
        pipeline (Sequence[dict], optional): Transforms (mmdet TRANSFORMS)
            applied to each raw image before the model's preprocessor, e.g.
            ``[dict(type='Resize', scale=(640, 640), keep_ratio=True)]``.
        name (str): ``'saver'`` or ``'base'``, for messages.

    Raises:
        ValueError: If a pipeline step loads files or packs results (the
            cascade's dataloader has already done both).
    """

    _FORBIDDEN = ('LoadImageFromFile', 'LoadAnnotations', 'PackDetInputs')

    def __init__(self, model: nn.Module, pipeline: Optional[Sequence[dict]] = None,
                 name: str = 'branch'):
        self.model = model
        self.name = name
        self.pipeline_cfg = list(pipeline or [])
        for step in self.pipeline_cfg:
            if step.get('type') in self._FORBIDDEN:
                raise ValueError(
                    f"The {name}'s pipeline has {step['type']!r}; it gets images "
                    'already loaded by the cascade\'s dataloader. Keep only the '
                    "transforms that differ from the cascade's test pipeline "
                    "(e.g. dict(type='Resize', ...)).")
        self._transforms = None
        self._feature_store: List[Tuple[torch.Tensor, ...]] = []
        self.session = None  # an exported DetStageGraph run by a backend (None: PyTorch)

    def _compose(self):
        if self._transforms is None:
            from mmcv.transforms import Compose
            from mmdet.registry import TRANSFORMS
            self._transforms = Compose([TRANSFORMS.build(copy.deepcopy(t))
                                        for t in self.pipeline_cfg])
        return self._transforms

    def prepare(self, inputs: Sequence[torch.Tensor], data_samples: Sequence
                ) -> Tuple[List[torch.Tensor], list]:
        """Apply the branch's transforms; give it its own data samples.

        Args:
            inputs (Sequence[torch.Tensor]): Raw images (C, H, W).
            data_samples (Sequence[DetDataSample]): Their samples (only the
                metainfo is read; they are not modified).

        Returns:
            tuple: The branch's images and new ``DetDataSample`` objects whose
            ``img_shape``/``scale_factor`` map the branch input back to the
            original image.
        """
        from mmdet.structures import DetDataSample
        out_inputs, out_samples = [], []
        for img, ds in zip(inputs, data_samples):
            meta = dict(ds.metainfo)
            meta.pop('pad_shape', None)  # the raw image's; the branch's own is set below
            if self.pipeline_cfg:
                img, meta = self._transform(img, meta)
            out_inputs.append(img)
            out_samples.append(DetDataSample(metainfo=meta))
        return out_inputs, out_samples

    def _transform(self, img: torch.Tensor, meta: dict) -> Tuple[torch.Tensor, dict]:
        h, w = img.shape[-2:]
        results = dict(img=img.permute(1, 2, 0).cpu().numpy(), img_shape=(h, w),
                       ori_shape=meta.get('ori_shape', (h, w)))
        results = self._compose()(results)
        sx0, sy0 = meta.get('scale_factor', (1.0, 1.0))
        sx1, sy1 = results.get('scale_factor', (1.0, 1.0))
        meta.update(img_shape=tuple(results['img_shape']),
                    scale_factor=(sx0 * sx1, sy0 * sy1))
        if 'pad_shape' in results:
            meta['pad_shape'] = tuple(results['pad_shape'])
        new = torch.from_numpy(np.ascontiguousarray(results['img'])).permute(2, 0, 1)
        return new.to(img.device).contiguous(), meta

    def preprocess(self, inputs: Sequence[torch.Tensor], samples: list
                   ) -> Tuple[torch.Tensor, list]:
        """The branch's own data preprocessor (no training augmentation)."""
        data = self.model.data_preprocessor(
            {'inputs': list(inputs), 'data_samples': samples}, False)
        return data['inputs'], data['data_samples']

    def inputs(self, inputs: Sequence[torch.Tensor], data_samples: Optional[Sequence] = None
               ) -> Tuple[torch.Tensor, list]:
        """Transforms and preprocessor: what the detector itself receives.

        Without data samples (tensor mode), each image gets one of its own
        shape at scale 1.
        """
        if data_samples is None:
            from mmdet.structures import DetDataSample
            data_samples = [DetDataSample(metainfo=dict(
                ori_shape=tuple(i.shape[-2:]), img_shape=tuple(i.shape[-2:]),
                scale_factor=(1.0, 1.0))) for i in inputs]
        return self.preprocess(*self.prepare(list(inputs), data_samples))

    def measure_macs(self, shape: Tuple[int, ...], data_sample) -> int:
        """MACs of the detector alone on a fixed noise image of ``shape`` (batch of one).

        Raises:
            ValueError: Without the image's data sample (its metainfo).
        """
        from mmdet.structures import DetDataSample
        from tinysaver_mm.utils import measure_macs
        if data_sample is None:
            raise ValueError(f'MACs of the {self.name} are measured with the data samples '
                             '(image metainfo) of the batch; give them.')
        gen = torch.Generator().manual_seed(0)
        noise = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
        x, samples = self.inputs([noise], [DetDataSample(metainfo=dict(data_sample.metainfo))])
        return measure_macs(self.model, x, samples)

    def _feature_module(self) -> nn.Module:
        return self.model.neck if getattr(self.model, 'neck', None) is not None \
            else self.model.backbone

    def _keep_features(self, module, args, output) -> None:
        feats = output if isinstance(output, (tuple, list)) else (output, )
        self._feature_store.append(tuple(feats))

    @torch.no_grad()
    def predict(self, inputs: Sequence[torch.Tensor], data_samples: Sequence,
                with_features: bool = False) -> Tuple[list, Optional[torch.Tensor]]:
        """Detect on raw images.

        Args:
            inputs (Sequence[torch.Tensor]): Raw images (at least one).
            data_samples (Sequence[DetDataSample]): Their samples.
            with_features (bool): Also return the neck's (else the
                backbone's) feature maps average-pooled over each image's
                valid (unpadded) area, concatenated over levels.

        Images whose transformed shapes differ run as one sub-batch per
        shape: the preprocessor pads a batch to its largest image, and the
        padding would change an image's detections (and exit score) with its
        batch-mates. Each image's results are those it gets on its own.

        Returns:
            tuple: ``pred_instances`` per image (bboxes in original image
            coordinates) and the pooled features (N, C) or None.
        """
        from tinysaver_mm.core import join_rows, shape_groups, take_rows
        imgs, samples = self.prepare(inputs, data_samples)
        groups = shape_groups(imgs)
        if len(groups) > 1:
            parts = [self._predict_prepared(take_rows(imgs, g), take_rows(samples, g),
                                            with_features) for g in groups]
            return tuple(join_rows([p[j] for p in parts], groups, len(imgs)) for j in range(2))
        return self._predict_prepared(imgs, samples, with_features)

    def _predict_prepared(self, imgs: List[torch.Tensor], samples: list, with_features: bool
                          ) -> Tuple[list, Optional[torch.Tensor]]:
        """:meth:`predict` on transformed images of one shape."""
        x, samples = self.preprocess(imgs, samples)
        if self.session is not None:
            return self._predict_deployed(x, samples, with_features)
        handle = None
        if with_features:
            self._feature_store.clear()
            handle = self._feature_module().register_forward_hook(self._keep_features)
        try:
            results = self.model.predict(x, samples, rescale=True)
        finally:
            if handle is not None:
                handle.remove()
        pooled = None
        if with_features:
            pooled = pool_valid(self._feature_store[-1], samples)
            self._feature_store.clear()
        return [r.pred_instances for r in results], pooled

    def _predict_deployed(self, x: torch.Tensor, samples: list, with_features: bool
                          ) -> Tuple[list, Optional[torch.Tensor]]:
        """The exported graph's maps, decoded by the PyTorch head (NMS in Python)."""
        maps = self.session.run_all(x)
        levels = len(maps) // 3
        cls_scores, bbox_preds = maps[:levels], maps[levels:2 * levels]
        results = self.model.bbox_head.predict_by_feat(
            cls_scores, bbox_preds, batch_img_metas=[s.metainfo for s in samples],
            rescale=True)
        pooled = pool_valid(maps[2 * levels:], samples) if with_features else None
        return list(results), pooled


def pool_valid(feats: Sequence[torch.Tensor], samples: Sequence) -> torch.Tensor:
    """Average each feature map over each image's unpadded area.

    Args:
        feats (Sequence[torch.Tensor]): Levels of shape (N, C_l, H_l, W_l).
        samples (Sequence[DetDataSample]): With ``img_shape`` and
            ``batch_input_shape`` metainfo.

    Returns:
        torch.Tensor: (N, sum C_l), float32 on CPU.
    """
    rows = []
    for i, ds in enumerate(samples):
        h, w = ds.metainfo['img_shape'][:2]
        bh, bw = ds.metainfo.get('batch_input_shape', (h, w))
        parts = []
        for f in feats:
            fh = max(1, int(np.ceil(f.shape[-2] * h / bh)))
            fw = max(1, int(np.ceil(f.shape[-1] * w / bw)))
            parts.append(f[i, :, :fh, :fw].float().mean(dim=(1, 2)))
        rows.append(torch.cat(parts))
    return torch.stack(rows).cpu()


def detector_num_classes(model: nn.Module) -> Optional[int]:
    """``num_classes`` of a detector's (final) box head, if it has one."""
    for path in ('bbox_head', 'roi_head.bbox_head'):
        obj = model
        for name in path.split('.'):
            obj = getattr(obj, name, None)
        if isinstance(obj, (list, nn.ModuleList)):  # cascade R-CNN stages
            obj = obj[-1]
        if obj is not None and hasattr(obj, 'num_classes'):
            return int(obj.num_classes)
    return None
