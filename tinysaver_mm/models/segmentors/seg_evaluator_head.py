"""The learned evaluator that decides whether a saver segmentor's masks are final."""
from typing import Optional, Sequence

import torch
from mmseg.registry import MODELS

from tinysaver_mm.core.seg_features import seg_exit_features, seg_feature_dim
from ..heads import BaseExitHead

__all__ = ['TinySaverSegEvaluatorHead']


@MODELS.register_module()
class TinySaverSegEvaluatorHead(BaseExitHead):
    """Scores how likely a saver's masks on an image are as good as the base's.

    It reads only the saver's per-pixel class probabilities, summarised per
    image by :func:`tinysaver_mm.core.seg_features.seg_exit_features`
    (confidence histograms, predicted class areas and their confidence).
    Standardisation, the MLP, the exit score (its sigmoid) and the saver
    fingerprint are :class:`~tinysaver_mm.models.heads.BaseExitHead`'s.

    Args:
        num_classes (int): Classes of the saver segmentor (>= 2).
        hidden_channels (int): Width of the hidden layer. Defaults to 32.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If ``num_classes`` is below 2.
    """

    def __init__(self, num_classes: int, hidden_channels: int = 32,
                 init_cfg: Optional[dict] = None):
        if int(num_classes) < 2:
            raise ValueError(f'num_classes={num_classes!r}: the segmentation evaluator '
                             'reads per-pixel class probabilities over >= 2 classes.')
        super().__init__(seg_feature_dim(int(num_classes)), hidden_channels, init_cfg)
        self.num_classes = int(num_classes)

    def inputs(self, probs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw input rows from the saver's per-image ``(C, H, W)`` probabilities.

        Raises:
            ValueError: If the class count is not the head's.
        """
        got = {int(p.shape[0]) for p in probs}
        if got and got != {self.num_classes}:
            raise ValueError(f'The evaluator was built for {self.num_classes} classes but '
                             f'the saver gives {sorted(got)}: train one for this saver '
                             '(tools/train_evaluator.py on its segmentation records).')
        rows = seg_exit_features(probs)
        return rows if len(rows) else torch.zeros(0, self.in_channels)
