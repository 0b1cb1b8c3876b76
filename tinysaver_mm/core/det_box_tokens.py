"""Per-detection tokens: what a set encoder over a saver's boxes reads.

Dataset mAP ranks every detection across images and counts each
localisation, so an exit signal that sees single detections can see what
mAP sees. :func:`box_tokens` describes each of an image's ``max_boxes``
best-scored detections by one row of :data:`TOKEN_PARTS`:

- ``score``, ``log_score``, ``rank``: its score, log score, and rank / max_boxes;
- ``cx``, ``cy``, ``size``, ``log_aspect``: centre relative to the image,
  sqrt(area) relative to the image's, log(w / h);
- ``iou_better``, ``iou_better_same``: largest IoU with a better-scored box
  (any class / same class): duplicates and crowding, which cost precision;
- ``rival``: summed score of other-class boxes with IoU >= 0.5 (class confusion);
- ``neighbours``: log1p of the boxes with IoU >= 0.5 (any class);
- optional ``flip_iou``, ``flip_score``: the best IoU with a same-class box of
  the saver's detections on the horizontally flipped image (mapped back), and
  that box's score (0 when none): the saver's agreement with itself;
- optional ``cand_count``, ``cand_spread``, ``cand_score_std``: of the saver's
  pre-NMS candidates of its class with IoU >= 0.5, log1p(count), 1 - their
  score-weighted mean IoU with the box, and their score spread;
- then the one-hot class (``num_classes``).

Plain torch; the head (``TinySaverSetEvaluatorHead``) pools the rows.
"""
from typing import Optional, Sequence, Tuple

import torch

__all__ = ['TOKEN_PARTS', 'FLIP_PARTS', 'CANDIDATE_PARTS', 'token_dim', 'box_tokens',
           'pairwise_iou', 'check_detections']

TOKEN_PARTS: Tuple[str, ...] = ('score', 'log_score', 'rank', 'cx', 'cy', 'size', 'log_aspect',
                                'iou_better', 'iou_better_same', 'rival', 'neighbours')
FLIP_PARTS: Tuple[str, ...] = ('flip_iou', 'flip_score')
CANDIDATE_PARTS: Tuple[str, ...] = ('cand_count', 'cand_spread', 'cand_score_std')


def token_dim(num_classes: int, flip: bool = False, candidates: bool = False) -> int:
    """Width of one token of :func:`box_tokens`."""
    return (len(TOKEN_PARTS) + len(FLIP_PARTS) * bool(flip)
            + len(CANDIDATE_PARTS) * bool(candidates) + int(num_classes))


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box of ``a`` (A, 4) with every box of ``b`` (B, 4), xyxy."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-6)


def check_detections(dets: tuple, what: str, num_classes: int) -> tuple:
    """``(scores, labels, bboxes)`` as float/long/float CPU tensors, checked.

    Raises:
        ValueError: Without one score, label and box per detection, or on a
            label outside ``[0, num_classes)``.
    """
    scores, labels, bboxes = dets
    scores = scores.detach().float().cpu().reshape(-1)
    labels = labels.detach().long().cpu().reshape(-1)
    bboxes = bboxes.detach().float().cpu().reshape(-1, 4)
    if not (len(scores) == len(labels) == len(bboxes)):
        raise ValueError(f'{what}: {len(scores)} scores, {len(labels)} labels and '
                         f'{len(bboxes)} boxes: need one of each per detection.')
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'{what}: labels {sorted(set(labels.tolist()))} are outside '
                         f'[0, {num_classes}): the evaluator was made for a '
                         f'{num_classes}-class saver.')
    return scores, labels, bboxes


def box_tokens(scores: torch.Tensor, labels: torch.Tensor, bboxes: torch.Tensor,
               img_hw: Sequence[int], num_classes: int, max_boxes: int = 20,
               flip_dets: Optional[tuple] = None,
               candidates: Optional[tuple] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Tokens of an image's best-scored detections, and which rows are real.

    Args:
        scores (torch.Tensor): (D,) detection scores.
        labels (torch.Tensor): (D,) class indices in ``[0, num_classes)``.
        bboxes (torch.Tensor): (D, 4) boxes, x1y1x2y2, in the coordinates of
            an image of size ``img_hw``.
        img_hw (Sequence[int]): That image's (height, width).
        num_classes (int): Classes of the saver.
        max_boxes (int): Detections described (best scores first); rows
            beyond the image's detections are zero with mask 0.
        flip_dets (tuple, optional): ``(scores, labels, bboxes)`` of the saver
            on the horizontally flipped image, boxes mapped back to this
            image's coordinates; adds :data:`FLIP_PARTS`.
        candidates (tuple, optional): ``(scores, labels, bboxes)`` of the
            saver's candidates before NMS; adds :data:`CANDIDATE_PARTS`.

    Returns:
        tuple: tokens (max_boxes, :func:`token_dim`) float32 and mask
        (max_boxes,) float32 (1 for a real detection).

    Raises:
        ValueError: On inputs without one row per detection or labels out
            of range.
    """
    scores, labels, bboxes = check_detections((scores, labels, bboxes), 'detections', num_classes)
    width = token_dim(num_classes, flip_dets is not None, candidates is not None)
    tokens = torch.zeros(int(max_boxes), width)
    mask = torch.zeros(int(max_boxes))
    k = min(int(max_boxes), len(scores))
    if k == 0:
        return tokens, mask
    order = scores.argsort(descending=True, stable=True)
    s, lab, box = scores[order[:k]], labels[order[:k]], bboxes[order[:k]]
    h, w = float(img_hw[0]), float(img_hw[1])
    wh = (box[:, 2:] - box[:, :2]).clamp(min=1e-3)
    iou_all = pairwise_iou(box, bboxes[order])  # (k, D): against every detection
    # better[i, j]: detection j (in score order) ranks strictly above token i
    better = torch.arange(len(scores))[None, :] < torch.arange(k)[:, None]
    same = lab[:, None] == labels[order][None, :]
    cols = [s, s.clamp(min=1e-6).log(), torch.arange(k, dtype=torch.float32) / max_boxes,
            (box[:, 0] + box[:, 2]) / (2 * w), (box[:, 1] + box[:, 3]) / (2 * h),
            (wh.prod(dim=1) / max(h * w, 1.0)).sqrt(), (wh[:, 0] / wh[:, 1]).log(),
            (iou_all * better).max(dim=1).values,
            (iou_all * (better & same)).max(dim=1).values,
            ((iou_all >= 0.5) & ~same).float().mul(scores[order][None, :]).sum(dim=1),
            torch.log1p(((iou_all >= 0.5).sum(dim=1) - 1).clamp(min=0).float())]
    if flip_dets is not None:
        fs, fl, fb = check_detections(flip_dets, 'flipped-view detections', num_classes)
        if len(fs):
            iou = pairwise_iou(box, fb) * (lab[:, None] == fl[None, :])
            best, j = iou.max(dim=1)
            cols += [best, torch.where(best > 0, fs[j], torch.zeros_like(best))]
        else:
            cols += [torch.zeros(k), torch.zeros(k)]
    if candidates is not None:
        cs, cl, cb = check_detections(candidates, 'pre-NMS candidates', num_classes)
        if len(cs):
            iou = pairwise_iou(box, cb)
            near = ((iou >= 0.5) & (lab[:, None] == cl[None, :])).float()
            cnt = near.sum(dim=1)
            wsum = (near * cs[None, :]).sum(dim=1).clamp(min=1e-6)
            mean_iou = (near * cs[None, :] * iou).sum(dim=1) / wsum
            mean_s = (near * cs[None, :]).sum(dim=1) / cnt.clamp(min=1)
            var_s = (near * (cs[None, :] - mean_s[:, None]) ** 2).sum(dim=1) / cnt.clamp(min=1)
            cols += [torch.log1p(cnt), torch.where(cnt > 0, 1 - mean_iou, torch.zeros(k)),
                     var_s.sqrt()]
        else:
            cols += [torch.zeros(k)] * 3
    onehot = torch.nn.functional.one_hot(lab, num_classes).float()
    tokens[:k] = torch.cat([torch.stack(cols, dim=1), onehot], dim=1)
    mask[:k] = 1.0
    return tokens, mask
