"""What the detection and segmentation reports share: routing fields, costs, files."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_json
from tinysaver_mm.visualization import plot_policy_curves

__all__ = ['BasePolicyReport']

PARTS = ('saver', 'base', 'evaluator')


class BasePolicyReport(BaseMetric):
    """A task's report metric keeps per image :meth:`routing_fields` with its own
    quality data, and builds its report around :meth:`costs`, writing it with
    :meth:`write_report`.

    Args:
        out_file (str, optional): The report (JSON), its curves beside it (PNG).
        overwrite (bool): Replace those files when they exist (else the metric
            refuses to be built, before any image is run).
        inputs (Sequence[str]): Files the metric reads (never written onto).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'tinysaver'``.

    Raises:
        OutputExistsError: If ``out_file`` or its PNG exists and ``overwrite``
            is False.
    """

    default_prefix: Optional[str] = 'tinysaver'

    def __init__(self, out_file: Optional[str] = None, overwrite: bool = False,
                 inputs: Sequence[str] = (), collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        check_outputs([out_file, out_file and osp.splitext(out_file)[0] + '.png'], overwrite,
                      inputs, flag=f'overwrite=True in the {type(self).__name__} config '
                      '(e.g. --cfg-options test_evaluator.2.overwrite=True, or '
                      'test_evaluator.metrics.2.overwrite=True under a TinySaverEvaluator)')
        self.out_file = out_file

    @staticmethod
    def routing_fields(ds: dict) -> dict:
        """What the routed cascade did on one image and every policy's score."""
        return dict(exited=bool(ds['exited']), scores=dict(ds['policy_scores']),
                    exit_rule=ds['exit_rule'], threshold=ds['threshold'],
                    macs=float(ds['macs']),
                    parts={p: float(ds[f'macs_{p}']) for p in PARTS if f'macs_{p}' in ds})

    @staticmethod
    def costs(results: List[dict]) -> tuple:
        """Exit mask, per-part MACs, and the routed run's exit ratio and GMACs.

        Returns:
            tuple: ``(exited, macs, figures)``: the (N,) exit mask, part name
            to (N,) MACs, and ``exit_ratio, gmacs_saver, gmacs_base,
            gmacs_evaluator, gmacs_cascade, macs_saved_pct``.
        """
        exited = np.array([r['exited'] for r in results])
        macs = {p: np.array([r['parts'].get(p, 0.0) for r in results]) for p in PARTS}
        spent = np.array([r['macs'] for r in results])
        return exited, macs, dict(
            exit_ratio=float(exited.mean()),
            gmacs_saver=float(macs['saver'].mean()) / 1e9,
            gmacs_base=float(macs['base'].mean()) / 1e9,
            gmacs_evaluator=float(macs['evaluator'].mean()) / 1e9,
            gmacs_cascade=float(spent.mean()) / 1e9,
            macs_saved_pct=100.0 * (1.0 - float(spent.sum()) / float(macs['base'].sum())))

    def write_report(self, report: dict, curves: dict, marks: dict, saver_value: float,
                     base_value: float, title: str, **plot_kw) -> None:
        """Write the report (JSON) and every policy's curve (PNG), if asked."""
        if not self.out_file:
            return
        write_json(report, self.out_file)
        png = osp.splitext(self.out_file)[0] + '.png'
        plot_policy_curves(curves, saver_value, base_value, report['gmacs_saver'],
                           report['gmacs_base'], png, title, marks, **plot_kw)
        print_log(f'{type(self).__name__} written to {self.out_file} and {png}', 'current')

    @staticmethod
    def flat_metrics(report: dict, keys: Sequence[str], rows: List[dict]) -> Dict[str, float]:
        """The logged metrics: the quality keys and each policy's equal-drop saving
        (exit ratio and GMACs are TinySaverMetric's keys)."""
        flat = {k: report[k] for k in keys}
        for row in rows:
            flat[f'{row["policy"]}_equal_drop_macs_saved_pct'] = row['equal_drop_macs_saved_pct']
        return flat
