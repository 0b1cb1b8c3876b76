"""Report of a detection cascade: saver, base, cascade and every exit policy."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import METRICS
from mmengine.structures import InstanceData

from tinysaver_mm.core import MapDropCalibrator, quality_gap
from .base_policy_report import BasePolicyReport
from ..functional import (CocoEntries, cascade_map_curve, compare_policies, policy_scores,
                          routed_figures, routed_map)

__all__ = ['TinySaverDetReport']


def _instances(d: dict) -> InstanceData:
    inst = InstanceData()
    for key in ('bboxes', 'scores', 'labels'):
        setattr(inst, key, torch.as_tensor(d[key]).cpu())
    return inst


@METRICS.register_module()
class TinySaverDetReport(BasePolicyReport):
    """COCO box mAP of the saver, the base, the cascade and each exit policy.

    Needs a ``TinySaverDetector`` with ``report=True`` (both detectors' results
    and every policy's score on every image). On the evaluated images it
    reports the saver's, base's and routed cascade's mAP (AP@[.5:.95], as
    pycocotools), exit ratio and GMACs, and for each policy (``evaluator``,
    ``max_score``, ``mean_topk`` and the ``oracle`` that exits where the
    per-image AP gap is smallest):

    - at its calibrated threshold (``policies``, fitted on other images by
      ``tools/train_evaluator.py``): mAP, drop, exit ratio, MACs saved;
    - at equal mAP drop: the most MACs it saves on these images while losing
      no more mAP than the cascade itself does (a sweep of exit ratios).

    Args:
        ann_file (str): COCO annotations of the evaluated images.
        policies (dict, optional): Policy name to calibrated threshold.
        out_file (str, optional): Write the report here (JSON), and each
            policy's mAP-GMACs curve next to it (PNG).
        overwrite (bool): Replace those files when they exist (else the
            metric refuses to be built, before any image is run).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'tinysaver'``.

    Raises:
        FileNotFoundError: If ``ann_file`` does not exist.
        OutputExistsError: If ``out_file`` or its PNG exists and
            ``overwrite`` is False.
    """

    def __init__(self, ann_file: str, policies: Optional[Dict[str, float]] = None,
                 out_file: Optional[str] = None, overwrite: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'ann_file {ann_file!r} does not exist.')
        super().__init__(out_file, overwrite, [ann_file], collect_device, prefix)
        self.ann_file = ann_file
        self.policies = dict(policies or {})

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep both detectors' results, the routing and the policy scores.

        Raises:
            KeyError: If the cascade was not built with ``report=True``.
        """
        for ds in data_samples:
            if 'base_instances' not in ds:
                raise KeyError('TinySaverDetReport needs TinySaverDetector(report=True) '
                               '(set model.report=True in the config).')
            self.results.append(dict(
                self.routing_fields(ds), img_id=int(ds['img_id']),
                saver={k: ds['saver_instances'][k].cpu() for k in ('bboxes', 'scores', 'labels')},
                base={k: ds['base_instances'][k].cpu() for k in ('bboxes', 'scores', 'labels')}))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluate everything and write the report.

        Raises:
            ValueError: If no image was evaluated.
        """
        if not results:
            raise ValueError('TinySaverDetReport got no predictions: the dataset is empty.')
        classes = (self.dataset_meta or {}).get('classes')
        ids = [r['img_id'] for r in results]
        saver = CocoEntries(self.ann_file, ids, [_instances(r['saver']) for r in results],
                            classes)
        base = CocoEntries(self.ann_file, ids, [_instances(r['base']) for r in results],
                           classes, coco=saver.coco)
        exited, macs, figures = self.costs(results)
        saver_map, base_map = saver.map(), base.map()
        cascade_map = routed_map(saver, base, exited)
        gap = quality_gap(saver.image_ap(), base.image_ap())
        names = sorted(results[0]['scores'])
        scores = policy_scores([_instances(r['saver']) for r in results], gap)
        scores.update({k: np.array([r['scores'][k] for r in results]) for k in names})
        drop = base_map - cascade_map
        rows, curves, marks = compare_policies(
            scores, lambda score, pays: cascade_map_curve(saver, base, score, macs, pays),
            lambda score, t, pays: routed_figures(saver, base, score, t, macs, pays), 'map',
            base_map, drop, self.policies, MapDropCalibrator)
        report = dict(
            num_images=len(results), ann_file=self.ann_file,
            exit_rule=results[0]['exit_rule'], threshold=results[0]['threshold'],
            saver_map=saver_map, base_map=base_map, cascade_map=cascade_map,
            map_drop=drop, **figures, policies=rows)
        self.write_report(report, curves, marks, saver_map, base_map,
                          f'{len(results)} images of {osp.basename(self.ann_file)}; '
                          'dots: calibrated thresholds')
        return self.flat_metrics(report, ('saver_map', 'base_map', 'cascade_map', 'map_drop'),
                                 rows)
