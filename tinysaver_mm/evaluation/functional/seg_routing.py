"""Dataset-level mIoU of routed segmentation cascades, from per-image counts.

mmseg's ``IoUMetric`` sums, over the whole dataset, each class's
intersection, union, predicted and labelled areas (pixels labelled
``ignore_index`` left out), then takes IoU per class; classes whose union is 0
are NaN and left out of the mean. So a cascade's mIoU is not a mean over
images, but it is a sum: storing each image's ``(4, C)`` areas once for the
saver and once for the base gives the exact mIoU of any routing by adding up
the areas of whichever model answered each image.
"""
from typing import Dict, List, Sequence

import numpy as np

from .routing_costs import DEFAULT_EXIT_GRID, metric_curve, routed_costs

__all__ = ['AREAS', 'image_areas', 'areas_miou', 'class_iou', 'routed_miou',
           'routed_seg_figures', 'cascade_miou_curve', 'image_iou_gap']

AREAS = ('intersect', 'union', 'pred', 'label')


def image_areas(pred: np.ndarray, label: np.ndarray, num_classes: int,
                ignore_index: int = 255) -> np.ndarray:
    """One image's per-class areas, as ``IoUMetric.intersect_and_union``.

    Args:
        pred (np.ndarray): Predicted class per pixel, ``(H, W)``.
        label (np.ndarray): Ground truth per pixel, same shape.
        num_classes (int): Classes ``0..num_classes-1``.
        ignore_index (int): Label value left out of every area.

    Returns:
        np.ndarray: int64 ``(4, num_classes)``: intersection, union,
        predicted and labelled area per class (rows in :data:`AREAS` order).

    Raises:
        ValueError: If the shapes differ, or a label outside the classes is
            not ``ignore_index`` (IoUMetric would drop it silently).
    """
    pred, label = np.asarray(pred), np.asarray(label)
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} differ in '
                         'shape: resize the prediction to the original image first.')
    keep = label != ignore_index
    bad = np.unique(label[keep & ((label < 0) | (label >= num_classes))])
    if bad.size:
        raise ValueError(f'label values {bad[:5].tolist()} are outside the {num_classes} '
                         f'classes and not ignore_index={ignore_index}: fix the label map '
                         '(or map them to the ignore index).')
    p, t = pred[keep].astype(np.int64), label[keep].astype(np.int64)
    inter = np.bincount(t[p == t], minlength=num_classes)[:num_classes]
    area_pred = np.bincount(p[(p >= 0) & (p < num_classes)],
                            minlength=num_classes)[:num_classes]
    area_label = np.bincount(t, minlength=num_classes)[:num_classes]
    return np.stack([inter, area_pred + area_label - inter, area_pred, area_label])


def class_iou(areas: np.ndarray) -> np.ndarray:
    """IoU per class of summed areas ``(4, C)`` (or ``(N, 4, C)``, summed first).

    Returns:
        np.ndarray: ``(C,)`` float; NaN where the union is 0.
    """
    a = np.asarray(areas, dtype=np.float64)
    if a.ndim == 3:
        a = a.sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(a[1] > 0, a[0] / np.where(a[1] > 0, a[1], 1), np.nan)


def areas_miou(areas: np.ndarray) -> float:
    """mIoU (a fraction) of summed areas, classes never seen left out.

    Returns:
        float: NaN if no class has a union.
    """
    iou = class_iou(areas)
    return float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else float('nan')


def routed_miou(saver_areas: np.ndarray, base_areas: np.ndarray, exits: np.ndarray) -> float:
    """Dataset mIoU when the ``exits`` images keep the saver's masks.

    Args:
        saver_areas, base_areas (np.ndarray): ``(N, 4, C)`` per image.
        exits (np.ndarray): ``(N,)`` bool.
    """
    exits = np.asarray(exits, dtype=bool)
    total = saver_areas[exits].sum(0) + base_areas[~exits].sum(0)
    return areas_miou(total)


def routed_seg_figures(saver_areas: np.ndarray, base_areas: np.ndarray, score: np.ndarray,
                       threshold: float, macs: Dict[str, np.ndarray],
                       with_evaluator: bool = False) -> dict:
    """mIoU, exit ratio and GMACs of a segmentation cascade at one threshold.

    Returns:
        dict: ``threshold, exit_ratio, miou, gmacs_cascade, macs_saved_pct``.
    """
    exits, row = routed_costs(score, threshold, macs, with_evaluator)
    return dict(row, miou=routed_miou(saver_areas, base_areas, exits))


def cascade_miou_curve(saver_areas: np.ndarray, base_areas: np.ndarray, score: np.ndarray,
                       macs: Dict[str, np.ndarray], with_evaluator: bool = False,
                       exit_grid: Sequence[float] = DEFAULT_EXIT_GRID) -> List[dict]:
    """:func:`routed_seg_figures` at the thresholds letting each share of images exit."""
    return metric_curve(lambda exits: routed_miou(saver_areas, base_areas, exits), 'miou',
                        score, macs, with_evaluator, exit_grid)


def image_iou_gap(saver_areas: np.ndarray, base_areas: np.ndarray) -> np.ndarray:
    """Per image, how much better the base segments it: the evaluator's target.

    The mean, over the classes present in the image's labels (ignored pixels
    left out), of ``IoU_base - IoU_saver`` on that image; 0 for an image with
    no labelled pixel.

    Args:
        saver_areas, base_areas (np.ndarray): ``(N, 4, C)`` per image.

    Returns:
        np.ndarray: ``(N,)`` in [-1, 1].
    """
    def iou(a):
        a = np.asarray(a, dtype=np.float64)
        return a[:, 0] / np.maximum(a[:, 1], 1)
    present = np.asarray(saver_areas)[:, 3] > 0
    diff = np.where(present, iou(base_areas) - iou(saver_areas), 0.0)
    count = present.sum(1)
    return np.where(count > 0, diff.sum(1) / np.maximum(count, 1), 0.0)
