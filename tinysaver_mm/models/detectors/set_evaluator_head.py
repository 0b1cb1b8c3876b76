"""An evaluator head that reads the saver's detections one by one (a set encoder)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from tinysaver_mm.core import box_tokens, detection_features, feature_dim, token_dim
from ..heads import BaseExitHead
from .exit_target import ExitTargetMixin

__all__ = ['TinySaverSetEvaluatorHead']


@MODELS.register_module()
class TinySaverSetEvaluatorHead(ExitTargetMixin, BaseExitHead):
    """Scores a saver's detections on an image from a set encoder over its boxes.

    Each of the image's ``max_boxes`` best detections becomes a token
    (:func:`tinysaver_mm.core.box_tokens`: score, rank, position, size,
    overlaps and class confusion, one-hot class; optionally its agreement
    with the saver's detections on the flipped image), a shared two-layer MLP
    embeds each token, and attention pooling (a learned score per token,
    softmax over the image's real detections) sums them. The pooled vector,
    next to the image-level description of
    :class:`~tinysaver_mm.models.detectors.TinySaverEvaluatorHead`, feeds a
    two-layer MLP giving the exit logit. An image without detections pools
    to zeros.

    One input row per image (as every exit head) packs
    ``[image-level features | tokens (max_boxes x token width) | mask]``;
    the stored ``input_mean``/``input_std`` standardise the image-level
    columns per column and the token columns per token feature (fitted over
    real detections only).

    Args:
        num_classes (int): Classes of the saver detector.
        topk (int): Detections the image-level part describes. Defaults to 10.
        max_boxes (int): Detections encoded as tokens. Defaults to 20.
        token_channels (int): Width of the token embedding. Defaults to 32.
        hidden_channels (int): Width of the final hidden layer. Defaults to 32.
        flip (bool): Tokens carry the saver's agreement with itself on the
            horizontally flipped image (the cascade must run the saver twice).
            Defaults to False.
        target (str): Training target of its weights (``'binary'``,
            ``'oric'``). Defaults to ``'binary'``.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: On a non-positive size or an unknown target.
    """

    def __init__(self, num_classes: int, topk: int = 10, max_boxes: int = 20,
                 token_channels: int = 32, hidden_channels: int = 32, flip: bool = False,
                 target: str = 'binary', init_cfg: Optional[dict] = None):
        for name, v in (('num_classes', num_classes), ('topk', topk), ('max_boxes', max_boxes),
                        ('token_channels', token_channels)):
            if int(v) < 1:
                raise ValueError(f'{name}={v!r} must be >= 1.')
        self.num_classes, self.topk, self.max_boxes = int(num_classes), int(topk), int(max_boxes)
        self.flip = bool(flip)
        self.global_channels = feature_dim(self.num_classes, self.topk)
        self.token_width = token_dim(self.num_classes, self.flip)
        super().__init__(self.global_channels + self.max_boxes * (self.token_width + 1),
                         hidden_channels, init_cfg)
        self.feat_channels = 0
        self.init_target(target)
        d = int(token_channels)
        self.token_mlp = nn.Sequential(nn.Linear(self.token_width, d), nn.ReLU(),
                                       nn.Linear(d, d), nn.ReLU())
        self.attn = nn.Linear(d, 1)
        self.mlp = nn.Sequential(nn.Linear(self.global_channels + d, int(hidden_channels)),
                                 nn.ReLU(), nn.Linear(int(hidden_channels), 1))

    @property
    def use_features(self) -> bool:
        """The set head reads no pooled saver features."""
        return False

    def _split(self, x: torch.Tensor):
        g, k, f = self.global_channels, self.max_boxes, self.token_width
        return x[:, :g], x[:, g:g + k * f].reshape(-1, k, f), x[:, g + k * f:]

    def inputs(self, pred_instances: Sequence, img_shapes: Sequence[Sequence[int]],
               feats: Optional[torch.Tensor] = None,
               flip_instances: Optional[Sequence] = None) -> torch.Tensor:
        """Build the head's raw input rows from the saver's outputs.

        Args:
            pred_instances (Sequence[InstanceData]): The saver's detections per
                image (``scores``, ``labels``, ``bboxes``), in the coordinates
                of images of size ``img_shapes``.
            img_shapes (Sequence): (height, width) per image.
            feats (torch.Tensor, optional): Ignored (accepted for the
                cascade's call; this head reads no pooled features).
            flip_instances (Sequence[InstanceData], optional): The saver's
                detections on each image flipped horizontally, boxes mapped
                back (needed when ``flip``).

        Returns:
            torch.Tensor: (N, in_channels), not yet standardised.

        Raises:
            ValueError: If ``flip`` is set and the flipped view is missing.
        """
        if self.flip and flip_instances is None:
            raise ValueError('This evaluator reads the saver\'s detections on the flipped '
                             'image (flip=True); give flip_instances.')
        rows = []
        for i, (p, hw) in enumerate(zip(pred_instances, img_shapes)):
            flip = None
            if self.flip:
                q = flip_instances[i]
                flip = (q.scores, q.labels, q.bboxes)
            g = detection_features(p.scores, p.labels, p.bboxes, hw[:2], self.num_classes,
                                   self.topk)
            t, m = box_tokens(p.scores, p.labels, p.bboxes, hw[:2], self.num_classes,
                              self.max_boxes, flip_dets=flip)
            rows.append(torch.cat([g, t.reshape(-1), m]))
        return torch.stack(rows) if rows else torch.zeros(0, self.in_channels)

    @torch.no_grad()
    def standardise_from(self, x: torch.Tensor) -> None:
        """Fit ``input_mean``/``input_std`` on raw rows (tokens: over real ones)."""
        g, t, m = self._split(x)
        mean, std = torch.zeros(self.in_channels), torch.ones(self.in_channels)
        mean[:self.global_channels] = g.mean(dim=0)
        std[:self.global_channels] = g.std(dim=0).clamp(min=1e-6)
        real = t[m > 0.5]
        if len(real) > 1:
            k, f = self.max_boxes, self.token_width
            sl = slice(self.global_channels, self.global_channels + k * f)
            mean[sl] = real.mean(dim=0).repeat(k)
            std[sl] = real.std(dim=0).clamp(min=1e-6).repeat(k)
        self.input_mean.copy_(mean)
        self.input_std.copy_(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for raw input rows (N, in_channels)."""
        x = x.to(self.input_mean.device)
        mask = self._split(x)[2]
        g, t, _ = self._split((x - self.input_mean) / self.input_std)
        emb = self.token_mlp(t)
        logits = self.attn(emb).squeeze(-1) + (mask - 1.0) * 1e4
        weights = logits.softmax(dim=-1) * mask  # an image without detections pools to 0
        pooled = (weights.unsqueeze(-1) * emb).sum(dim=1)
        return self.mlp(torch.cat([g, pooled], dim=1)).squeeze(-1)
