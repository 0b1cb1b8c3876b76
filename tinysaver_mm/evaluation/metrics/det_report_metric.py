"""Report of a detection cascade: saver, base, cascade and every exit policy."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.registry import METRICS
from mmengine.structures import InstanceData

from tinysaver_mm.core import MapDropCalibrator, quality_gap
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_json
from tinysaver_mm.visualization import plot_policy_curves
from ..functional import (CocoEntries, cascade_map_curve, compare_policies, policy_scores,
                          routed_figures, routed_map)

__all__ = ['TinySaverDetReport']


def _instances(d: dict) -> InstanceData:
    inst = InstanceData()
    for key in ('bboxes', 'scores', 'labels'):
        setattr(inst, key, torch.as_tensor(d[key]).cpu())
    return inst


@METRICS.register_module()
class TinySaverDetReport(BaseMetric):
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

    default_prefix: Optional[str] = 'tinysaver'

    def __init__(self, ann_file: str, policies: Optional[Dict[str, float]] = None,
                 out_file: Optional[str] = None, overwrite: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'ann_file {ann_file!r} does not exist.')
        check_outputs([out_file, out_file and osp.splitext(out_file)[0] + '.png'], overwrite,
                      [ann_file], flag="overwrite=True in the TinySaverDetReport config "
                      "(e.g. --cfg-options test_evaluator.2.overwrite=True)")
        self.ann_file, self.out_file = ann_file, out_file
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
                img_id=int(ds['img_id']), exited=bool(ds['exited']),
                saver={k: ds['saver_instances'][k].cpu() for k in ('bboxes', 'scores', 'labels')},
                base={k: ds['base_instances'][k].cpu() for k in ('bboxes', 'scores', 'labels')},
                scores=dict(ds['policy_scores']), exit_rule=ds['exit_rule'],
                threshold=float(ds['threshold']), macs=float(ds['macs']),
                parts={p: float(ds[f'macs_{p}']) for p in ('saver', 'base', 'evaluator')
                       if f'macs_{p}' in ds}))

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
        exited = np.array([r['exited'] for r in results])
        macs = {p: np.array([r['parts'].get(p, 0.0) for r in results])
                for p in ('saver', 'base', 'evaluator')}
        saver_map, base_map = saver.map(), base.map()
        cascade_map = routed_map(saver, base, exited)
        spent = np.array([r['macs'] for r in results])
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
            map_drop=drop, exit_ratio=float(exited.mean()),
            gmacs_saver=float(macs['saver'].mean()) / 1e9,
            gmacs_base=float(macs['base'].mean()) / 1e9,
            gmacs_evaluator=float(macs['evaluator'].mean()) / 1e9,
            gmacs_cascade=float(spent.mean()) / 1e9,
            macs_saved_pct=100.0 * (1.0 - float(spent.sum()) / float(macs['base'].sum())),
            policies=rows)
        if self.out_file:
            write_json(report, self.out_file)
            png = osp.splitext(self.out_file)[0] + '.png'
            plot_policy_curves(curves, saver_map, base_map, report['gmacs_saver'],
                               report['gmacs_base'], png,
                               f'{len(results)} images of {osp.basename(self.ann_file)}; '
                               'dots: calibrated thresholds', marks)
            print_log(f'TinySaverDetReport written to {self.out_file} and {png}', 'current')
        # exit ratio and GMACs are TinySaverMetric's keys; only the mAPs here
        flat = {k: report[k] for k in ('saver_map', 'base_map', 'cascade_map', 'map_drop')}
        for row in rows:
            flat[f'{row["policy"]}_equal_drop_macs_saved_pct'] = row['equal_drop_macs_saved_pct']
        return flat
