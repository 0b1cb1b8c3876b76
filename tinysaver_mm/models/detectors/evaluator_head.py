"""The learned evaluator that decides whether a saver detector's result is final."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from tinysaver_mm.core import detection_features, feature_dim

__all__ = ['TinySaverEvaluatorHead']


@MODELS.register_module()
class TinySaverEvaluatorHead(BaseModule):
    """Scores how likely a saver's detections on an image are as good as the base's.

    It reads only what the saver already produced: a fixed-size description
    of its detections (:func:`tinysaver_mm.core.detection_features`) and,
    optionally, the saver's neck features average-pooled per image. The
    inputs are standardised with statistics fitted on the training records,
    then a two-layer MLP gives a logit; the exit score is its sigmoid.

    The head stores the SHA-256 fingerprint of the saver it was trained for
    (``saver_fingerprint``; all zeros until trained), so the cascade can
    refuse it next to another saver.

    Args:
        num_classes (int): Classes of the saver detector.
        topk (int): Detections described one by one. Defaults to 10.
        feat_channels (int): Channels of the pooled saver features it reads
            (0: detections only). Defaults to 0.
        hidden_channels (int): Width of the hidden layer. Defaults to 64.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If ``num_classes`` or ``topk`` is below 1 or
            ``feat_channels`` is negative.
    """

    def __init__(self, num_classes: int, topk: int = 10, feat_channels: int = 0,
                 hidden_channels: int = 64, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if int(num_classes) < 1 or int(topk) < 1 or int(feat_channels) < 0:
            raise ValueError(f'num_classes={num_classes!r} and topk={topk!r} must be '
                             f'>= 1 and feat_channels={feat_channels!r} >= 0.')
        self.num_classes, self.topk = int(num_classes), int(topk)
        self.feat_channels = int(feat_channels)
        self.in_channels = feature_dim(self.num_classes, self.topk) + self.feat_channels
        self.mlp = nn.Sequential(nn.Linear(self.in_channels, hidden_channels), nn.ReLU(),
                                 nn.Linear(hidden_channels, 1))
        self.register_buffer('input_mean', torch.zeros(self.in_channels))
        self.register_buffer('input_std', torch.ones(self.in_channels))
        self.register_buffer('saver_fingerprint', torch.zeros(32, dtype=torch.uint8))

    @property
    def use_features(self) -> bool:
        """Whether the head reads pooled saver features."""
        return self.feat_channels > 0

    @property
    def trained_for(self) -> Optional[bytes]:
        """Fingerprint of the saver the head was trained for (None if untrained)."""
        raw = bytes(self.saver_fingerprint.tolist())
        return None if raw == bytes(32) else raw

    def set_trained_for(self, fingerprint: bytes) -> None:
        """Record the saver this head is trained for (32-byte SHA-256)."""
        if len(fingerprint) != 32:
            raise ValueError('A saver fingerprint is a 32-byte SHA-256 digest.')
        self.saver_fingerprint.copy_(torch.tensor(list(fingerprint), dtype=torch.uint8))

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for raw input rows (N, in_channels)."""
        x = (x.to(self.input_mean.device) - self.input_mean) / self.input_std
        return self.mlp(x).squeeze(-1)

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Exit scores in [0, 1] for raw input rows (N, in_channels)."""
        return torch.sigmoid(self.forward(x)).cpu()
