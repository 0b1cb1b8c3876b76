"""The one table ``bash tools/run_demo.sh`` ends with, built from the demos' results files.

Every figure is read from the three results JSONs the demo writes
(classification, detection, segmentation); nothing is recomputed, so the
summary can only agree with them.
"""
import json
import os.path as osp
from typing import Dict, Optional

__all__ = ['DEMO_RESULTS', 'DEMO_LOGS', 'demo_summary', 'format_demo_summary',
           'write_demo_summary']

#: task -> the results file its demo step writes
DEMO_RESULTS = {'classification': 'results/demo_fashion_mnist.json',
                'detection': 'results/demo_det.json',
                'segmentation': 'results/demo_seg.json'}
#: task -> the work dir holding that step's full logs
DEMO_LOGS = {'classification': 'work_dirs/demo_fashion_mnist',
             'detection': 'work_dirs/demo_det',
             'segmentation': 'work_dirs/demo_seg'}

# task -> (data, metric name, unit factor to points, keys of saver/base/cascade)
_FIELDS = {
    'classification': ('Fashion-MNIST test (10,000 images)', 'top-1 %', 1.0,
                       ('saver_top1', 'base_top1', 'cascade_top1')),
    'detection': ('fmnist_det val (1,000 images)', 'box mAP x 100', 100.0,
                  ('saver_map', 'base_map', 'cascade_map')),
    'segmentation': ('fmnist_seg val (1,000 images)', 'mIoU %', 1.0,
                     ('saver_miou', 'base_miou', 'cascade_miou')),
}


def demo_summary(results: Optional[Dict[str, str]] = None, root: str = '.') -> dict:
    """The demo's summary: one row per embedded cascade, read from its results file.

    Args:
        results (dict, optional): task -> results JSON (default
            :data:`DEMO_RESULTS`), paths relative to ``root``.
        root (str): Directory the paths are relative to.

    Returns:
        dict: ``rows`` (per task: ``task``, ``data``, ``metric``,
        ``saver``, ``base``, ``cascade`` and ``drop`` in points of that metric,
        ``exit_ratio``, ``macs_saved_pct``, ``gmacs_cascade``, ``gmacs_base``,
        ``threshold``, ``results`` and ``logs``).

    Raises:
        FileNotFoundError: If a results file is missing (run the demo).
        KeyError: If a results file lacks a figure (it names the file and key).
    """
    results = dict(DEMO_RESULTS if results is None else results)
    unknown = sorted(set(results) - set(_FIELDS))
    if unknown:
        raise ValueError(f'unknown demo task(s) {unknown}; the demo has {sorted(_FIELDS)}.')
    rows = []
    for task, path in results.items():
        full = osp.join(root, path)
        if not osp.isfile(full):
            raise FileNotFoundError(f'{full!r} does not exist: bash tools/run_demo.sh writes it.')
        with open(full) as f:
            r = json.load(f)
        data, metric, scale, keys = _FIELDS[task]
        need = list(keys) + ['exit_ratio', 'macs_saved_pct', 'gmacs_cascade', 'gmacs_base',
                             'threshold']
        missing = [k for k in need if k not in r]
        if missing:
            raise KeyError(f'{full!r} has no {missing}: regenerate it with bash tools/run_demo.sh.')
        saver, base, cascade = (scale * float(r[k]) for k in keys)
        rows.append(dict(task=task, data=data, metric=metric, saver=saver, base=base,
                         cascade=cascade, drop=base - cascade,
                         exit_ratio=float(r['exit_ratio']),
                         macs_saved_pct=float(r['macs_saved_pct']),
                         gmacs_cascade=float(r['gmacs_cascade']),
                         gmacs_base=float(r['gmacs_base']), threshold=float(r['threshold']),
                         results=path, logs=DEMO_LOGS.get(task)))
    return dict(rows=rows, units='drop in points of the metric (base - cascade); '
                'exit_ratio = share of images answered by the saver')


def format_demo_summary(summary: dict) -> str:
    """The summary as the text table the demo prints last."""
    head = (f'{"task":<15}{"metric":<15}{"saver":>8}{"base":>8}{"cascade":>9}{"drop":>7}'
            f'{"exit ratio":>12}{"MACs saved":>12}')
    lines = [head, '-' * len(head)]
    for r in summary['rows']:
        lines.append(f'{r["task"]:<15}{r["metric"]:<15}{r["saver"]:>8.2f}{r["base"]:>8.2f}'
                     f'{r["cascade"]:>9.2f}{r["drop"]:>7.2f}{r["exit_ratio"]:>12.3f}'
                     f'{r["macs_saved_pct"]:>11.1f}%')
    lines.append('drop: base - cascade, in points of the metric; exit ratio: share of images '
                 'the saver answered.')
    lines.append('results: ' + ', '.join(r['results'] for r in summary['rows']))
    lines.append('full logs: ' + ', '.join(f'{r["logs"]}/' for r in summary['rows']
                                            if r['logs']))
    return '\n'.join(lines)


def write_demo_summary(out: str, overwrite: bool = False,
                       results: Optional[Dict[str, str]] = None, root: str = '.') -> dict:
    """Write :func:`demo_summary` to ``out`` (JSON) and return it.

    Args:
        out (str): The JSON file.
        overwrite (bool): Replace ``out`` when it exists.
        results, root: See :func:`demo_summary`.

    Raises:
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    from tinysaver_mm.utils import check_outputs
    from tinysaver_mm.utils.report import write_json
    check_outputs([out], overwrite)
    summary = demo_summary(results, root)
    write_json(summary, out, indent=2)
    return summary
