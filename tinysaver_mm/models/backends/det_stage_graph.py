"""One single-stage detector as a plain graph: preprocessed batch -> head maps + neck features."""
from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['DetStageGraph']


class DetStageGraph(nn.Module):
    """mmdet's tensor-mode path of a single-stage detector, for export.

    ``forward`` takes the batch the detector's own data preprocessor gives
    (normalised, padded) and returns the head's per-level class scores, then
    its per-level box predictions, then the neck's per-level features (what
    the learned evaluator pools): ``3 * num_levels`` maps. Decoding and NMS
    (``bbox_head.predict_by_feat``) stay in Python, as do the preprocessing
    (padding depends on the batch) and the evaluator head.

    Args:
        model (nn.Module): A single-stage mmdet detector (``bbox_head`` with
            ``predict_by_feat``; e.g. RTMDet, RetinaNet, YOLOX, FCOS).
        name (str): What to call it in errors.

    Raises:
        ValueError: For a two-stage detector (RPN + RoI head: proposals pass
            through Python between the two graphs) or any detector without a
            single-stage ``bbox_head``.
    """

    def __init__(self, model: nn.Module, name: str = 'stage'):
        super().__init__()
        head = getattr(model, 'bbox_head', None)
        if getattr(model, 'roi_head', None) is not None or head is None or \
                not hasattr(head, 'predict_by_feat') or not hasattr(model, 'extract_feat'):
            raise ValueError(
                f'The {name} ({type(model).__name__}) is not a single-stage detector with a '
                'bbox_head: only those export (RTMDet, RetinaNet, YOLOX, FCOS...). Two-stage '
                'detectors (Faster/Mask R-CNN) keep the PyTorch backend.')
        self.model, self.name = model, name

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.model.extract_feat(x)
        cls_scores, bbox_preds = self.model.bbox_head(feats)[:2]
        return (*cls_scores, *bbox_preds, *feats)
