"""The per-stage latency table ``tools/benchmark.py`` writes and latency costs read."""
import math
import statistics
from typing import Dict, List, Optional

import torch

from tinysaver_mm.core import StageLatency

__all__ = ['STAGE_LATENCY_COLUMNS', 'stage_latency_rows', 'load_stage_latency',
           'record_model_name']

STAGE_LATENCY_COLUMNS = ['model', 'backend', 'device', 'threads', 'batch_size', 'ms_per_img',
                         'img_per_s', 'gmacs', 'source']


def stage_latency_rows(rows: List[dict], models: Dict[str, str], gmacs: Dict[str, float],
                       device: str, source: str) -> List[dict]:
    """Per-stage latency table rows from a cascade benchmark's rows.

    The saver's time at each batch size; the base's at each batch size (median
    over the exit ratios' base-alone timings) and at every sub-batch size the
    routing gave it (``base_rows``).

    Args:
        rows (list[dict]): Rows of :func:`benchmark_cascade` (one backend).
        models (dict): ``saver``/``base`` -> model name (its config's file name).
        gmacs (dict): ``saver``/``base`` -> GMACs per image.
        device (str): Where they ran.
        source (str): What measured them (the benchmarked config).

    Returns:
        list[dict]: Keys :data:`STAGE_LATENCY_COLUMNS`, one per (model, batch size).
    """
    times: Dict[tuple, List[float]] = {}
    for r in rows:
        times.setdefault(('saver', r['batch_size']), []).append(r['ms_per_img_saver'])
        times.setdefault(('base', r['batch_size']), []).append(r['ms_per_img_base'])
        if r['base_rows'] and r['base_rows'] != r['batch_size'] and \
                not math.isnan(r['ms_per_img_base_rows']):
            times.setdefault(('base', r['base_rows']), []).append(r['ms_per_img_base_rows'])
    backend = rows[0]['backend'] if rows else 'pytorch'
    out = []
    for (role, bs), ms in sorted(times.items(), key=lambda kv: (kv[0][0] != 'saver', kv[0][1])):
        med = statistics.median(ms)
        out.append(dict(model=models[role], backend=backend, device=device,
                        threads=torch.get_num_threads(), batch_size=bs, ms_per_img=med,
                        img_per_s=1e3 / med, gmacs=gmacs[role], source=source))
    return out


def load_stage_latency(path: str, model: str, backend: str = 'pytorch',
                       device: str = 'cpu') -> StageLatency:
    """One model's measured times (per batch size) from a stage latency CSV.

    Args:
        path (str): ``results/stage_latency_<device>.csv`` or another table
            of :data:`~tinysaver_mm.apis.benchmark.STAGE_LATENCY_COLUMNS`.
        model (str): The model's name (its config file name without ``.py``).
        backend (str): ``'pytorch'`` or ``'onnxruntime'``.
        device (str): E.g. ``'cpu'``.

    Returns:
        StageLatency: Its times, by batch size.

    Raises:
        FileNotFoundError: If there is no such table.
        ValueError: If the table has no row of that model, backend and device
            (the message lists what it has).
    """
    from tinysaver_mm.utils.report import read_csv
    rows = read_csv(path, STAGE_LATENCY_COLUMNS)
    mine: Dict[int, float] = {
        int(r['batch_size']): float(r['ms_per_img']) for r in rows
        if r['model'] == model and r['backend'] == backend and r['device'] == device}
    if not mine:
        have: List[str] = sorted({f'{r["model"]} [{r["backend"]}, {r["device"]}]'
                                  for r in rows})
        raise ValueError(f'{path} has no latency of {model} [{backend}, {device}] (it has: '
                         f'{have}); measure it with tools/benchmark.py forced-ratio (a cascade '
                         f'with this stage, --backend {backend} --device {device}).')
    return StageLatency(mine, f'{model} [{backend}]')


def record_model_name(meta: dict, path: str) -> str:
    """The model a record file is of (``meta['model']``, from ``tools/record.py``).

    Raises:
        ValueError: For records written before the field existed.
    """
    name: Optional[str] = meta.get('model')
    if not name:
        raise ValueError(f'{path} does not name its model (records older than the latency '
                         'cost); re-record it with tools/record.py.')
    return name
