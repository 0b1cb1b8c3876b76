"""Metric for cascades: exit ratio, GMACs per image and MACs saved."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from tinysaver_mm.core import cascade_macs_per_image, macs_saved_pct
from tinysaver_mm.utils import refuse_tta, tta_views

__all__ = ['TinySaverMetric']


@METRICS.register_module()
class TinySaverMetric(BaseMetric):
    """Exit statistics and MACs of a TinySaver cascade, gathered over ranks.

    Reads the fields the cascade writes on every prediction (``answered_by``,
    ``macs``, ``cascade_stages``, ``macs_<stage>`` and, optionally,
    ``cascade_overheads``: parts every image pays for besides the first stage,
    e.g. a detection cascade's ``evaluator``). Reported keys (prefix
    ``tinysaver``): ``exit_ratio``, ``share_<stage>`` (images answered by each
    stage), ``gmacs_<stage>`` and ``gmacs_<overhead>`` (each part alone, mean
    per image), ``gmacs_cascade`` (mean per image, summed from what each image
    really cost), ``gmacs_cascade_analytic`` (the same from exit shares and
    mean part costs, as a cross-check; equal when every image costs the same)
    and ``macs_saved_pct`` (vs the last stage, the base, alone; vs
    ``macs_base_alone`` when the predictions carry it, as an ESN's do, whose
    last routing step is only the end of the base).

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'tinysaver'``.
    """

    default_prefix: Optional[str] = 'tinysaver'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the cascade fields of each prediction.

        Raises:
            KeyError: If a prediction has no cascade fields.
        """
        views = tta_views(data_batch)
        if views is not None:
            refuse_tta(type(self).__name__, views=views)
        for ds in data_samples:
            if not all(k in ds for k in ('macs', 'answered_by', 'cascade_stages')):
                raise KeyError(
                    'TinySaverMetric needs predictions of a TinySaver cascade '
                    '(fields macs, answered_by, cascade_stages); this model did '
                    'not write them. Use it only with TinySaverClassifier/Detector.')
            parts = tuple(ds['cascade_stages']) + tuple(ds.get('cascade_overheads', ()))
            stage_macs = {s: float(ds[f'macs_{s}']) for s in parts}
            self.results.append(dict(answered_by=ds['answered_by'],
                                     stages=tuple(ds['cascade_stages']),
                                     macs=float(ds['macs']), stage_macs=stage_macs,
                                     reference=float(ds.get(
                                         'macs_base_alone',
                                         stage_macs[ds['cascade_stages'][-1]]))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Aggregate the per-image records.

        Raises:
            ValueError: If no image was evaluated.
        """
        if not results:
            raise ValueError('TinySaverMetric got no predictions: the evaluated '
                             'dataset is empty. Check the dataloader config.')
        stages = list(results[0]['stages'])
        overheads = [p for p in results[0]['stage_macs'] if p not in stages]
        answered = np.array([r['answered_by'] for r in results])
        metrics = {f'share_{s}': float(np.mean(answered == s)) for s in stages}
        metrics['exit_ratio'] = metrics[f'share_{stages[0]}']
        mean_macs = {p: float(np.mean([r['stage_macs'][p] for r in results]))
                     for p in stages + overheads}
        for p, m in mean_macs.items():
            metrics[f'gmacs_{p}'] = m / 1e9
        stage_macs = [mean_macs[s] for s in stages]
        cascade = float(np.mean([r['macs'] for r in results]))
        reach = [1.0 - sum(metrics[f'share_{s}'] for s in stages[:i])
                 for i in range(len(stages))]
        metrics['gmacs_cascade'] = cascade / 1e9
        metrics['gmacs_cascade_analytic'] = (cascade_macs_per_image(
            stage_macs, np.clip(reach, 0.0, 1.0)) + sum(mean_macs[p] for p in overheads)) / 1e9
        reference = float(np.mean([r['reference'] for r in results]))
        metrics['macs_saved_pct'] = macs_saved_pct(cascade, reference)
        return metrics
