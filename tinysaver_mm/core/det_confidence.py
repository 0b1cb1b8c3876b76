"""Exit scores from a detector's own output: simple rules and evaluator features.

A detector has no single confidence per image. The simple rules turn the
saver's detection scores into one (``max_score``: the best detection's score;
``mean_topk``: the mean of the ``k`` best scores, missing ones counting 0), and
:func:`detection_features` turns the saver's detections into the fixed-size
vector a learned evaluator reads. Plain torch.
"""
from typing import Callable, Dict, Sequence, Tuple

import torch

from .det_box_tokens import check_detections

__all__ = ['DET_EXIT_RULES', 'det_confidence', 'detection_features',
           'feature_dim', 'SCORE_LEVELS']

# score levels at which detections are counted
SCORE_LEVELS: Tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def _topk_padded(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` highest scores, descending, padded with zeros."""
    out = scores.new_zeros(k, dtype=torch.float32)
    if scores.numel():
        top = scores.float().topk(min(k, scores.numel())).values
        out[:top.numel()] = top
    return out


def _max_score(scores: torch.Tensor, k: int) -> torch.Tensor:
    return scores.float().max() if scores.numel() else scores.new_zeros((), dtype=torch.float32)


def _mean_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    return _topk_padded(scores, k).mean()


DET_EXIT_RULES: Dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    'max_score': _max_score,
    'mean_topk': _mean_topk,
}


def det_confidence(scores: Sequence[torch.Tensor], rule: str = 'max_score',
                   k: int = 5) -> torch.Tensor:
    """One confidence per image from its detection scores.

    Args:
        scores (Sequence[torch.Tensor]): Per image, the scores (D_i,) of its
            detections (may be empty).
        rule (str): ``'max_score'`` or ``'mean_topk'``.
        k (int): Number of scores averaged by ``'mean_topk'``.

    Returns:
        torch.Tensor: Confidences in [0, 1], shape (N,), float32.

    Raises:
        ValueError: On an unknown rule or ``k < 1``.
    """
    if rule not in DET_EXIT_RULES:
        raise ValueError(f'Unknown detection exit rule {rule!r}; choose one of '
                         f"{sorted(DET_EXIT_RULES)} or 'evaluator'.")
    if int(k) < 1:
        raise ValueError(f'k={k!r} must be at least 1.')
    fn = DET_EXIT_RULES[rule]
    if not len(scores):
        return torch.zeros(0)
    return torch.stack([fn(s.detach().cpu(), int(k)) for s in scores]).float()


def feature_dim(num_classes: int, topk: int = 10) -> int:
    """Length of :func:`detection_features`' vector."""
    return 3 * topk + len(SCORE_LEVELS) + num_classes


def _box_iou(boxes: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of (K, 4) xyxy boxes."""
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    lt = torch.max(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.min(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    return inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-6)


def detection_features(scores: torch.Tensor, labels: torch.Tensor,
                       bboxes: torch.Tensor, img_hw: Sequence[int],
                       num_classes: int, topk: int = 10) -> torch.Tensor:
    """Describe one image's detections as a fixed-size vector.

    Parts, in order: the ``topk`` best scores (descending, zero-padded);
    the same boxes' sqrt(area) relative to the image's; each of those boxes'
    largest IoU with a better-scored box (crowding); the number of detections
    at or above each of :data:`SCORE_LEVELS`, as ``log1p``; and the
    score-weighted share of each class.

    Args:
        scores (torch.Tensor): (D,) detection scores.
        labels (torch.Tensor): (D,) class indices in ``[0, num_classes)``.
        bboxes (torch.Tensor): (D, 4) boxes, x1y1x2y2, in the coordinates of
            an image of size ``img_hw``.
        img_hw (Sequence[int]): That image's (height, width).
        num_classes (int): Number of classes of the detector.
        topk (int): Number of best detections described one by one.

    Returns:
        torch.Tensor: float32 vector of length :func:`feature_dim`.

    Raises:
        ValueError: If a label is outside ``[0, num_classes)`` or the inputs
            do not have one row per detection.
    """
    scores, labels, bboxes = check_detections((scores, labels, bboxes), 'detections',
                                              num_classes)
    k = min(topk, len(scores))
    order = scores.argsort(descending=True)[:k]
    top_scores = torch.zeros(topk)
    rel_size = torch.zeros(topk)
    crowding = torch.zeros(topk)
    if k:
        top_scores[:k] = scores[order]
        boxes = bboxes[order]
        wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0)
        img_area = float(img_hw[0]) * float(img_hw[1])
        rel_size[:k] = (wh.prod(dim=1) / max(img_area, 1.0)).sqrt()
        iou = _box_iou(boxes).tril(diagonal=-1)  # IoU with better-scored boxes
        crowding[:k] = iou.max(dim=1).values if k > 1 else 0.0
    levels = torch.tensor(SCORE_LEVELS)
    counts = torch.log1p((scores[None, :] >= levels[:, None]).sum(dim=1).float())
    hist = torch.zeros(num_classes)
    if len(scores):
        hist.index_add_(0, labels, scores)
        hist = hist / hist.sum().clamp(min=1e-6)
    return torch.cat([top_scores, rel_size, crowding, counts, hist])
