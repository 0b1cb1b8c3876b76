"""The learned exit score of a classification saver (plain TinySaver's evaluator)."""
from typing import Optional

import torch
from mmpretrain.registry import MODELS

from tinysaver_mm.core.cls_features import cls_exit_features, cls_feature_dim
from ..heads import BaseExitHead

__all__ = ['TinySaverClsEvaluatorHead']


@MODELS.register_module()
class TinySaverClsEvaluatorHead(BaseExitHead):
    """Scores how likely a saver's label is as good as the base's on an image.

    It reads only the saver's class probabilities, summarised by
    :func:`tinysaver_mm.core.cls_features.cls_exit_features` (sorted top-k,
    margin, certainty). Standardisation, the MLP, the exit score (its
    sigmoid) and the saver fingerprint are
    :class:`~tinysaver_mm.models.heads.BaseExitHead`'s.

    Args:
        num_classes (int): Classes of the saver.
        topk (int): Sorted probabilities read. Defaults to 5.
        hidden_channels (int): Width of the hidden layer. Defaults to 32.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If ``num_classes`` < 2 or ``topk`` < 1.
    """

    def __init__(self, num_classes: int, topk: int = 5, hidden_channels: int = 32,
                 init_cfg: Optional[dict] = None):
        if int(num_classes) < 2 or int(topk) < 1:
            raise ValueError(f'num_classes={num_classes!r} must be >= 2 and topk={topk!r} '
                             '>= 1.')
        super().__init__(cls_feature_dim(topk), hidden_channels, init_cfg)
        self.num_classes, self.topk = int(num_classes), int(topk)

    def inputs(self, probs: torch.Tensor) -> torch.Tensor:
        """Raw input rows from the saver's ``(N, C)`` probabilities.

        Raises:
            ValueError: If ``C`` is not the head's class count.
        """
        if probs.dim() != 2 or probs.size(1) != self.num_classes:
            raise ValueError(f'The evaluator was built for {self.num_classes} classes but the '
                             f'saver gives probabilities of shape {tuple(probs.shape)}: train '
                             'one for this saver (tools/train_evaluator.py).')
        return cls_exit_features(probs, self.topk)
