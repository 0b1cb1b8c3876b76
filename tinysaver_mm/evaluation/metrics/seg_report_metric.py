"""Report of a segmentation cascade: saver, base, cascade and every exit policy."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.registry import METRICS

from tinysaver_mm.core import MIoUDropCalibrator
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_json
from tinysaver_mm.visualization import plot_policy_curves
from ..functional import (areas_miou, cascade_miou_curve, compare_policies, image_areas,
                          image_iou_gap, routed_miou, routed_seg_figures)

__all__ = ['TinySaverSegReport', 'read_policy_thresholds']

PARTS = ('saver', 'base', 'evaluator')


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
class TinySaverSegReport(BaseMetric):
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

    default_prefix: Optional[str] = 'tinysaver'

    def __init__(self, policies: Union[Dict[str, float], str, None] = None,
                 out_file: Optional[str] = None, overwrite: bool = False,
                 ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        check_outputs([out_file, out_file and osp.splitext(out_file)[0] + '.png'], overwrite,
                      flag='overwrite=True in the TinySaverSegReport config')
        self.out_file, self.ignore_index = out_file, int(ignore_index)
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
                saver=image_areas(ds['saver_sem_seg']['data'][0].cpu().numpy(), gt, c,
                                  self.ignore_index),
                base=image_areas(ds['base_sem_seg']['data'][0].cpu().numpy(), gt, c,
                                 self.ignore_index),
                exited=bool(ds['exited']), scores=dict(ds['policy_scores']),
                exit_rule=ds['exit_rule'], threshold=ds['threshold'], macs=float(ds['macs']),
                parts={p: float(ds[f'macs_{p}']) for p in PARTS if f'macs_{p}' in ds}))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluate everything and write the report.

        Raises:
            ValueError: If no image was evaluated.
        """
        if not results:
            raise ValueError('TinySaverSegReport got no predictions: the dataset is empty.')
        sa = np.stack([r['saver'] for r in results])
        ba = np.stack([r['base'] for r in results])
        exited = np.array([r['exited'] for r in results])
        macs = {p: np.array([r['parts'].get(p, 0.0) for r in results]) for p in PARTS}
        spent = np.array([r['macs'] for r in results])
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
            cascade_miou=100 * cascade_miou, miou_drop_pts=100 * drop,
            exit_ratio=float(exited.mean()),
            gmacs_saver=float(macs['saver'].mean()) / 1e9,
            gmacs_base=float(macs['base'].mean()) / 1e9,
            gmacs_evaluator=float(macs['evaluator'].mean()) / 1e9,
            gmacs_cascade=float(spent.mean()) / 1e9,
            macs_saved_pct=100.0 * (1.0 - float(spent.sum()) / float(macs['base'].sum())),
            threshold=threshold, policies=rows)
        if self.out_file:
            write_json(report, self.out_file)
            png = osp.splitext(self.out_file)[0] + '.png'
            plot_policy_curves(curves, saver_miou, base_miou, report['gmacs_saver'],
                               report['gmacs_base'], png,
                               f'{len(results)} images; dots: calibrated thresholds', marks,
                               key='miou', ylabel='mIoU (%, IoUMetric)')
            print_log(f'TinySaverSegReport written to {self.out_file} and {png}', 'current')
        flat = {k: report[k] for k in ('saver_miou', 'base_miou', 'cascade_miou',
                                       'miou_drop_pts')}
        for row in rows:
            flat[f'{row["policy"]}_equal_drop_macs_saved_pct'] = row['equal_drop_macs_saved_pct']
        return flat
