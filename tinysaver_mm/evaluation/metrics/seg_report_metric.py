"""Report of a segmentation cascade: saver, base, cascade and every exit policy."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.registry import METRICS

from tinysaver_mm.core import MIoUDropCalibrator
from .base_policy_report import BasePolicyReport
from ..functional import (areas_miou, cascade_miou_curve, compare_policies, image_areas,
                          image_iou_gap, routed_miou, routed_seg_figures)

__all__ = ['TinySaverSegReport', 'read_policy_thresholds']


def read_policy_thresholds(policies: Union[Dict[str, float], str, None]) -> Dict[str, float]:
    """Policy name to threshold, from a dict or a ``train_evaluator`` summary JSON.

    Raises:
        FileNotFoundError: If the JSON does not exist.
        ValueError: If it has no ``policies`` with thresholds, or a threshold
            is not a number.
    """
    if isinstance(policies, str):
        import json
        if not osp.isfile(policies):
            raise FileNotFoundError(f'policies={policies!r} does not exist; write it with '
                                    'tools/train_evaluator.py --results.')
        with open(policies) as f:
            rows = json.load(f).get('policies')
        if not isinstance(rows, dict) or not all('threshold' in r for r in rows.values()):
            raise ValueError(f'{policies!r} has no "policies" with thresholds: give the '
                             'summary JSON of tools/train_evaluator.py --results.')
        policies = {k: r['threshold'] for k, r in rows.items()}
    out = {}
    for name, value in (policies or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f'policy {name!r} has threshold {value!r}; give a number.')
        out[name] = float(value)
    return out


@METRICS.register_module()
class TinySaverSegReport(BasePolicyReport):
    """Saver, base and routed cascade mIoU, and every exit policy compared.

    Needs ``TinySaverSegmentor(report=True)``, which runs the base on the
    images that exited too (only for this comparison: predictions, exit ratio
    and MACs stay the routed cascade's) and writes every policy's score. mIoU
    is IoUMetric's (areas summed over the images, ``ignore_index`` left out),
    computed from per-image areas so that any routing is exact. Per policy
    (each confidence rule, the evaluator when the cascade has one, and the
    ``oracle`` knowing the per-image IoU gap):

    - at its calibrated threshold (``policies``, fitted on other images by
      ``tools/train_evaluator.py`` on segmentation records): mIoU, drop, exit
      ratio, MACs saved;
    - at equal mIoU drop: the most MACs it saves on these images while losing
      no more mIoU than the cascade itself does.

    Args:
        policies (dict | str, optional): Policy name to calibrated threshold,
            or the summary JSON ``tools/train_evaluator.py --results`` wrote
            (its ``policies``' thresholds are read).
        out_file (str, optional): Write the report here (JSON) and each
            policy's mIoU-GMACs curve next to it (PNG).
        overwrite (bool): Replace those files when they exist (else the
            metric refuses to be built, before any image is run).
        ignore_index (int): Label value left out, as IoUMetric's.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'tinysaver'``.

    Raises:
        OutputExistsError: If ``out_file`` or its PNG exists and
            ``overwrite`` is False.
        FileNotFoundError, ValueError: If ``policies`` is a path that does not
            exist or holds no policy thresholds.
    """

    def __init__(self, policies: Union[Dict[str, float], str, None] = None,
                 out_file: Optional[str] = None, overwrite: bool = False,
                 ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(out_file, overwrite, [policies] if isinstance(policies, str) else [],
                         collect_device, prefix)
        self.ignore_index = int(ignore_index)
        self.policies = read_policy_thresholds(policies)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each image's areas for both models, the routing and the scores.

        Raises:
            KeyError: If the cascade was not built with ``report=True`` or an
                image has no ``gt_sem_seg``.
        """
        for ds in data_samples:
            if 'base_sem_seg' not in ds:
                raise KeyError('TinySaverSegReport needs TinySaverSegmentor(report=True) '
                               '(set model.report=True in the config).')
            if 'gt_sem_seg' not in ds:
                raise KeyError(f'{ds.get("img_path")} has no gt_sem_seg: the report needs '
                               'labelled images (LoadAnnotations in the test pipeline).')
            gt = ds['gt_sem_seg']['data'][0].cpu().numpy()
            c = int(ds['num_classes'])
            self.results.append(dict(
                self.routing_fields(ds),
                saver=image_areas(ds['saver_sem_seg']['data'][0].cpu().numpy(), gt, c,
                                  self.ignore_index),
                base=image_areas(ds['base_sem_seg']['data'][0].cpu().numpy(), gt, c,
                                 self.ignore_index)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluate everything and write the report.

        Raises:
            ValueError: If no image was evaluated.
        """
        if not results:
            raise ValueError('TinySaverSegReport got no predictions: the dataset is empty.')
        sa = np.stack([r['saver'] for r in results])
        ba = np.stack([r['base'] for r in results])
        exited, macs, figures = self.costs(results)
        saver_miou, base_miou = areas_miou(sa), areas_miou(ba)
        cascade_miou = routed_miou(sa, ba, exited)
        scores = {k: np.array([r['scores'][k] for r in results])
                  for k in sorted(results[0]['scores'])}
        scores['oracle'] = (1.0 - image_iou_gap(sa, ba)) / 2.0
        drop = base_miou - cascade_miou
        rows, curves, marks = compare_policies(
            scores, lambda score, pays: cascade_miou_curve(sa, ba, score, macs, pays),
            lambda score, t, pays: routed_seg_figures(sa, ba, score, t, macs, pays), 'miou',
            base_miou, drop, self.policies, MIoUDropCalibrator)
        threshold = results[0]['threshold']
        report = dict(
            num_images=len(results), exit_rule=results[0]['exit_rule'],
            saver_miou=100 * saver_miou, base_miou=100 * base_miou,
            cascade_miou=100 * cascade_miou, miou_drop_pts=100 * drop, **figures,
            threshold=threshold, policies=rows)
        self.write_report(report, curves, marks, saver_miou, base_miou,
                          f'{len(results)} images; dots: calibrated thresholds', key='miou',
                          ylabel='mIoU (%, IoUMetric)')
        return self.flat_metrics(report, ('saver_miou', 'base_miou', 'cascade_miou',
                                          'miou_drop_pts'), rows)
