"""The learned evaluator that decides whether a saver detector's result is final."""
from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS

from tinysaver_mm.core import detection_features, feature_dim
from ..heads import BaseExitHead
from .exit_target import ExitTargetMixin

__all__ = ['TinySaverEvaluatorHead']


@MODELS.register_module()
class TinySaverEvaluatorHead(ExitTargetMixin, BaseExitHead):
    """Scores how likely a saver's detections on an image are as good as the base's.

    It reads only what the saver already produced: a fixed-size description
    of its detections (:func:`tinysaver_mm.core.detection_features`) and,
    optionally, the saver's neck features average-pooled per image.
    Standardisation, the MLP, the exit score (its sigmoid) and the saver
    fingerprint are :class:`~tinysaver_mm.models.heads.BaseExitHead`'s.

    Args:
        num_classes (int): Classes of the saver detector.
        topk (int): Detections described one by one. Defaults to 10.
        feat_channels (int): Channels of the pooled saver features it reads
            (0: detections only). Defaults to 0.
        hidden_channels (int): Width of the hidden layer. Defaults to 64.
        target (str): The training target its weights were fitted on
            (``'binary'`` or ``'oric'``, see
            :mod:`~tinysaver_mm.models.detectors.exit_target`); weights of
            another target are refused. Defaults to ``'binary'``.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If ``num_classes`` or ``topk`` is below 1 or
            ``feat_channels`` is negative, or ``target`` is unknown.
    """

    def __init__(self, num_classes: int, topk: int = 10, feat_channels: int = 0,
                 hidden_channels: int = 64, target: str = 'binary',
                 init_cfg: Optional[dict] = None):
        if int(num_classes) < 1 or int(topk) < 1 or int(feat_channels) < 0:
            raise ValueError(f'num_classes={num_classes!r} and topk={topk!r} must be '
                             f'>= 1 and feat_channels={feat_channels!r} >= 0.')
        super().__init__(feature_dim(int(num_classes), int(topk)) + int(feat_channels),
                         hidden_channels, init_cfg)
        self.num_classes, self.topk = int(num_classes), int(topk)
        self.feat_channels = int(feat_channels)
        self.init_target(target)

    @property
    def use_features(self) -> bool:
        """Whether the head reads pooled saver features."""
        return self.feat_channels > 0

    def inputs(self, pred_instances: Sequence, img_shapes: Sequence[Sequence[int]],
               feats: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Build the head's raw input rows from the saver's outputs.

        Args:
            pred_instances (Sequence[InstanceData]): The saver's detections per
                image (``scores``, ``labels``, ``bboxes``), in the coordinates
                of images of size ``img_shapes``.
            img_shapes (Sequence): (height, width) per image.
            feats (torch.Tensor, optional): Pooled saver features (N, C).

        Returns:
            torch.Tensor: (N, in_channels), not yet standardised.

        Raises:
            ValueError: If features are missing, unexpected or of the wrong width.
        """
        rows = [detection_features(p.scores, p.labels, p.bboxes, hw[:2],
                                   self.num_classes, self.topk)
                for p, hw in zip(pred_instances, img_shapes)]
        x = torch.stack(rows) if rows else torch.zeros(0, self.in_channels - self.feat_channels)
        if self.use_features:
            if feats is None or feats.shape[-1] != self.feat_channels:
                got = None if feats is None else feats.shape[-1]
                raise ValueError(
                    f'The evaluator reads {self.feat_channels} pooled saver feature '
                    f'channels but got {got}: it was trained with another saver '
                    'architecture. Retrain it with tools/train_evaluator.py.')
            x = torch.cat([x, feats.float().cpu()], dim=1)
        return x
