"""Per-image detection quality (COCO AP of one image) and the saver-base gap.

The exit target of a detection cascade is per image: is the saver's result on
this image as good as the base's would be? Quality is measured as the COCO
box AP of the image *evaluated alone* (IoU 0.50:0.95, 101 recall points, up
to 100 detections, area 'all'), from pycocotools' own per-image matches
(``COCOeval.evalImgs``). It is the mean, over the image's categories that
have at least one non-ignored ground-truth box, of the interpolated precision
at each IoU and recall threshold, exactly as ``COCOeval.accumulate`` +
``summarize`` would report for a dataset made of this one image. An image
without such ground truth has no defined quality (NaN).

Plain numpy: the caller runs ``COCOeval.evaluate()`` and passes its entries.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = ['category_precision', 'dataset_ap', 'entries_by_image', 'image_ap',
           'images_ap', 'quality_gap', 'exit_target']

COCO_REC_THRS = np.linspace(0.0, 1.00, 101)


def category_precision(entries: Sequence[dict], max_det: int = 100,
                       rec_thrs: np.ndarray = COCO_REC_THRS) -> Optional[np.ndarray]:
    """Interpolated precision of one category over pycocotools entries.

    As ``COCOeval.accumulate`` does for one category, area range and
    ``maxDet``: the entries' detections are pooled (each entry's best
    ``max_det``), sorted by score, and precision is read at each recall
    threshold from its upper envelope.

    Args:
        entries (Sequence[dict]): Elements of ``COCOeval.evalImgs`` of one
            category (keys ``dtScores``, ``dtMatches``, ``dtIgnore``,
            ``gtIgnore``), e.g. one per image.
        max_det (int): Detections kept per entry (highest scores first).
        rec_thrs (np.ndarray): Recall thresholds.

    Returns:
        np.ndarray | None: Precision (T, R), or None when the entries hold no
        non-ignored ground truth (pycocotools' -1).
    """
    if not entries:
        return None
    gt_ignore = np.concatenate([np.asarray(e['gtIgnore'], dtype=bool).reshape(-1)
                                for e in entries])
    num_gt = int(np.count_nonzero(~gt_ignore))
    if num_gt == 0:
        return None
    num_t = np.asarray(entries[0]['dtMatches']).shape[0]  # IoU thresholds
    scores = np.concatenate([np.asarray(e['dtScores'], dtype=np.float64)[:max_det]
                             for e in entries])
    order = np.argsort(-scores, kind='mergesort')

    def pooled(key: str) -> np.ndarray:
        parts = [np.asarray(e[key]).reshape(num_t, -1)[:, :max_det] for e in entries]
        return np.concatenate(parts, axis=1)[:, order]

    matches, ignore = pooled('dtMatches'), pooled('dtIgnore').astype(bool)
    tps = np.logical_and(matches, ~ignore)
    fps = np.logical_and(np.logical_not(matches), ~ignore)
    tp_sum = np.cumsum(tps, axis=1, dtype=np.float64)
    fp_sum = np.cumsum(fps, axis=1, dtype=np.float64)
    out = np.zeros((num_t, len(rec_thrs)))
    for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
        if tp.size == 0:
            continue
        recall = tp / num_gt
        precision = tp / (fp + tp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # envelope
        inds = np.searchsorted(recall, rec_thrs, side='left')
        valid = inds < len(precision)
        out[t, valid] = precision[inds[valid]]
    return out


def image_ap(entries: Sequence[Optional[dict]], max_det: int = 100) -> float:
    """COCO AP of one image evaluated alone.

    Args:
        entries (Sequence[dict | None]): The image's pycocotools entries, one
            per category, for area range 'all' (None entries are skipped).
        max_det (int): Detections per image kept.

    Returns:
        float: AP in [0, 1], or NaN if no category has ground truth here.
    """
    precisions = [category_precision([e], max_det) for e in entries if e is not None]
    precisions = [p for p in precisions if p is not None]
    if not precisions:
        return float('nan')
    return float(np.mean(np.stack(precisions)))


def entries_by_image(eval_imgs: List[Optional[dict]]) -> Dict[int, List[dict]]:
    """Group ``COCOeval.evalImgs`` entries of area range 'all' by image id."""
    by_image: Dict[int, List[dict]] = {}
    for e in eval_imgs:
        if e is not None and e['aRng'][0] == 0 and e['aRng'][1] >= 1e5 ** 2:
            by_image.setdefault(int(e['image_id']), []).append(e)
    return by_image


def dataset_ap(by_image: Dict[int, List[dict]], max_det: int = 100) -> float:
    """COCO AP (IoU 0.50:0.95) of a set of images from their entries.

    Matching is per image and category, so the entries of a cascade (each
    image's entries from the model that answered it) give the cascade's AP
    exactly as evaluating its merged detections would.

    Args:
        by_image (dict): Image id to its entries (:func:`entries_by_image`).
        max_det (int): Detections per image kept.

    Returns:
        float: AP in [0, 1] (NaN without ground truth).
    """
    by_cat: Dict[int, List[dict]] = {}
    for entries in by_image.values():
        for e in entries:
            by_cat.setdefault(int(e['category_id']), []).append(e)
    precisions = [category_precision(v, max_det) for v in by_cat.values()]
    precisions = [p for p in precisions if p is not None]
    return float(np.mean(np.stack(precisions))) if precisions else float('nan')


def images_ap(eval_imgs: List[Optional[dict]], img_ids: Sequence[int],
              max_det: int = 100) -> np.ndarray:
    """Per-image AP for every image of a finished ``COCOeval.evaluate()``.

    Args:
        eval_imgs (list): ``COCOeval.evalImgs``.
        img_ids (Sequence[int]): Return order of the images.
        max_det (int): Detections per image kept.

    Returns:
        np.ndarray: AP per image (float64, NaN without ground truth).
    """
    by_image = entries_by_image(eval_imgs)
    return np.array([image_ap(by_image.get(int(i), []), max_det) for i in img_ids])


def quality_gap(saver_ap: np.ndarray, base_ap: np.ndarray) -> np.ndarray:
    """Per-image quality gap ``base_ap - saver_ap`` (0 where undefined).

    Args:
        saver_ap (np.ndarray): Per-image AP of the saver.
        base_ap (np.ndarray): Per-image AP of the base, same images.

    Returns:
        np.ndarray: The gap in [-1, 1]; positive where the base is better.

    Raises:
        ValueError: If the shapes differ.
    """
    saver_ap, base_ap = np.asarray(saver_ap, float), np.asarray(base_ap, float)
    if saver_ap.shape != base_ap.shape:
        raise ValueError(f'saver ({saver_ap.shape}) and base ({base_ap.shape}) '
                         'qualities must cover the same images.')
    return np.nan_to_num(base_ap - saver_ap, nan=0.0)


def exit_target(gap: np.ndarray, tolerance: float = 0.05) -> np.ndarray:
    """Binary exit target: the saver is as good as the base on the image.

    Args:
        gap (np.ndarray): Per-image ``base_ap - saver_ap``.
        tolerance (float): AP the saver may lose on one image and still count
            as good as the base (per-image AP is coarse on images with few
            objects).

    Returns:
        np.ndarray: float32 array of 0/1.
    """
    return (np.asarray(gap) <= tolerance).astype(np.float32)
