"""Synthetic segmentation masks and mmseg's IoUMetric as a reference, for tests."""
import numpy as np
import torch

__all__ = ['C', 'noisy_segmentations', 'iou_metric']

C = 5  # classes of the synthetic masks


def noisy_segmentations(n: int = 12, seed: int = 0, size=(17, 23)) -> tuple:
    """Label maps with ignored pixels (255), a noisy saver's and a better base's masks.

    Returns:
        tuple: ``(labels, saver_masks, base_masks)``, lists of ``(H, W)`` int arrays
        over :data:`C` classes (some classes absent from some images).
    """
    rng = np.random.default_rng(seed)
    gts, savers, bases = [], [], []
    for i in range(n):
        gt = rng.integers(0, C - (i % 3), size)         # some classes absent from images
        gt[rng.random(size) < 0.1] = 255
        def noisy(p):
            out = gt.copy()
            flip = rng.random(size) < p
            out[flip] = rng.integers(0, C, flip.sum())
            out[gt == 255] = rng.integers(0, C, (gt == 255).sum())
            return out
        gts.append(gt)
        savers.append(noisy(0.2 + 0.5 * rng.random()))
        bases.append(noisy(0.1))
    return gts, savers, bases


def iou_metric(preds: list, labels: list) -> tuple:
    """mmseg's own IoUMetric over masks: the independent reference.

    Returns:
        tuple: ``(summary mIoU in % as IoUMetric reports it, per-class IoU
        before rounding, IoUMetric's per-image results)``.
    """
    from mmengine.structures import PixelData
    from mmseg.evaluation import IoUMetric
    from mmseg.structures import SegDataSample
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(C)])
    samples = []
    for p, g in zip(preds, labels):
        s = SegDataSample()
        s.pred_sem_seg = PixelData(data=torch.from_numpy(p)[None])
        s.gt_sem_seg = PixelData(data=torch.from_numpy(g)[None])
        samples.append(s.to_dict())
    metric.process({}, samples)
    res = tuple(zip(*metric.results))
    per_class = metric.total_area_to_metrics(*(sum(r) for r in res), ['mIoU'])['IoU']
    return metric.compute_metrics(metric.results)['mIoU'], per_class, metric.results
