"""COCO box mAP of routed detection cascades and their exit policies (no plotting).

Every exit policy gives one score per image; for a threshold, the images
scoring at least it keep the saver's detections and the rest take the base's.
pycocotools matches detections per image and category, so the saver's and the
base's ``COCOeval`` entries are computed once and the mAP of any routing is
accumulated from the entries of whichever model answered each image
(:func:`tinysaver_mm.core.dataset_ap`), identical to evaluating the merged
detections.
"""
import contextlib
import io
from typing import Dict, List, Optional, Sequence

import numpy as np

from tinysaver_mm.core import (MapDropCalibrator, dataset_ap, det_confidence,
                               entries_by_image, images_ap)
from .routing_costs import DEFAULT_EXIT_GRID, metric_curve, routed_costs

__all__ = ['CocoEntries', 'policy_scores', 'cascade_map_curve', 'threshold_for_drop',
           'routed_figures', 'routed_map']


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class CocoEntries:
    """pycocotools' per-image matches of one model's detections.

    Args:
        ann_file (str): COCO annotation file.
        img_ids (Sequence[int]): The images evaluated (in record order).
        instances (Sequence[InstanceData]): Detections per image (bboxes
            x1y1x2y2 in original coordinates, scores, labels).
        classes (Sequence[str], optional): Class names in label order; labels
            map to the annotation file's category ids of these names, as
            mmdet's ``CocoMetric`` does. Default: the file's categories in order.

    Raises:
        ValueError: If an image id is not in the annotation file or a class
            name is missing from it.
    """

    def __init__(self, ann_file: str, img_ids: Sequence[int], instances: Sequence,
                 classes: Optional[Sequence[str]] = None, coco=None):
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        if coco is None:
            with _quiet():
                coco = COCO(ann_file)
        self.coco = coco
        self.img_ids = [int(i) for i in img_ids]
        missing = sorted(set(self.img_ids) - set(coco.getImgIds()))
        if missing:
            raise ValueError(f'{len(missing)} image ids (e.g. {missing[:5]}) are not in '
                             f'{ann_file!r}: records and annotations describe '
                             'different images.')
        cat_ids = coco.getCatIds(catNms=list(classes)) if classes else coco.getCatIds()
        if classes and len(cat_ids) != len(classes):
            raise ValueError(f'{ann_file!r} lacks some of the classes {list(classes)}.')
        results = []
        for img_id, inst in zip(self.img_ids, instances):
            boxes = inst.bboxes.detach().cpu().numpy().reshape(-1, 4)
            for box, score, label in zip(boxes, inst.scores.tolist(), inst.labels.tolist()):
                results.append(dict(image_id=img_id, category_id=cat_ids[int(label)],
                                    bbox=[float(box[0]), float(box[1]),
                                          float(box[2] - box[0]), float(box[3] - box[1])],
                                    score=float(score)))
        with _quiet():
            if results:
                dt = coco.loadRes(results)
            else:  # pycocotools cannot load an empty result list
                dt = COCO()
                dt.dataset = dict(images=coco.dataset['images'], annotations=[],
                                  categories=coco.dataset['categories'])
                dt.createIndex()
            ev = COCOeval(coco, dt, 'bbox')
            ev.params.imgIds = self.img_ids
            ev.evaluate()
        self.eval_imgs = ev.evalImgs
        self.by_image = entries_by_image(ev.evalImgs)

    def image_ap(self) -> np.ndarray:
        """Per-image AP (NaN for images without ground truth)."""
        return images_ap(self.eval_imgs, self.img_ids)

    def map(self) -> float:
        """Dataset box AP@[.5:.95] of this model alone."""
        return dataset_ap(self.by_image)

    def complete_by_image(self) -> Dict[int, List[dict]]:
        """:attr:`by_image` with every evaluated image a key (``[]`` when it has
        neither ground truth nor detections), as ORIC needs."""
        return {i: self.by_image.get(i, []) for i in self.img_ids}


def routed_map(saver: CocoEntries, base: CocoEntries, exits: np.ndarray) -> float:
    """Box mAP when the ``exits`` images keep the saver's detections."""
    chosen = {i: (saver if e else base).by_image.get(i, [])
              for i, e in zip(saver.img_ids, exits)}
    return dataset_ap(chosen)


def policy_scores(saver_instances: Sequence, gap: Optional[np.ndarray] = None,
                  evaluator_scores: Optional[np.ndarray] = None,
                  topk: int = 5) -> Dict[str, np.ndarray]:
    """Exit score per image for each policy compared.

    Args:
        saver_instances (Sequence[InstanceData]): The saver's detections.
        gap (np.ndarray, optional): Per-image ``base_ap - saver_ap``; gives
            the ``oracle`` policy, which exits where the gap is smallest.
        evaluator_scores (np.ndarray, optional): The learned head's scores.
        topk (int): ``k`` of ``mean_topk``.

    Returns:
        dict[str, np.ndarray]: Policy name to scores in [0, 1].
    """
    scores = [p.scores for p in saver_instances]
    out = {'max_score': det_confidence(scores, 'max_score').numpy(),
           'mean_topk': det_confidence(scores, 'mean_topk', topk).numpy()}
    if evaluator_scores is not None:
        out['evaluator'] = np.asarray(evaluator_scores, dtype=np.float64)
    if gap is not None:
        out['oracle'] = (1.0 - np.asarray(gap, dtype=np.float64)) / 2.0
    return out


def routed_figures(saver: CocoEntries, base: CocoEntries, score: np.ndarray,
                   threshold: float, macs: Dict[str, np.ndarray],
                   with_evaluator: bool = False) -> dict:
    """mAP, exit ratio and GMACs of a cascade at one threshold.

    Args:
        saver, base (CocoEntries): Both models' entries on the same images.
        score (np.ndarray): Exit score per image.
        threshold (float): Images with ``score >= threshold`` exit.
        macs (dict): Per-image MACs ``saver``, ``base`` (and ``evaluator``).
        with_evaluator (bool): Whether the policy pays the evaluator.

    Returns:
        dict: ``threshold, exit_ratio, map, gmacs_cascade, macs_saved_pct``.
    """
    exits, row = routed_costs(score, threshold, macs, with_evaluator)
    return dict(row, map=routed_map(saver, base, exits))


def cascade_map_curve(saver: CocoEntries, base: CocoEntries, score: np.ndarray,
                      macs: Dict[str, np.ndarray], with_evaluator: bool = False,
                      exit_grid: Sequence[float] = DEFAULT_EXIT_GRID) -> List[dict]:
    """:func:`routed_figures` at the thresholds letting each share of images exit.

    Returns:
        list[dict]: One row per exit ratio of ``exit_grid`` (ties in the
        scores may make the realised ratio larger; see :func:`threshold_at`).
    """
    return metric_curve(lambda exits: routed_map(saver, base, exits), 'map', score, macs,
                        with_evaluator, exit_grid)


def threshold_for_drop(curve: Sequence[dict], base_map: float, max_drop: float) -> dict:
    """The curve point with the most MACs saved whose mAP drop is within ``max_drop``.

    Args:
        curve (Sequence[dict]): From :func:`cascade_map_curve`.
        base_map (float): The base's mAP on the same images.
        max_drop (float): Allowed mAP loss (same units as ``map``, e.g. 0.01).

    Returns:
        dict: A copy of the chosen row (exit ratio 0, i.e. threshold above
        every score, keeps the base's mAP and so is always allowed).

    Raises:
        ValueError: On ``max_drop`` outside [0, 1], an empty curve or one
            without a row within the drop (see
            :class:`tinysaver_mm.core.MapDropCalibrator`, which chooses).
    """
    return MapDropCalibrator(max_drop).fit(curve, base_map).row_
