"""Read the per-stage latency table ``tools/benchmark.py`` writes, for latency costs."""
from typing import Dict, List, Optional

from tinysaver_mm.core import StageLatency

__all__ = ['load_stage_latency', 'record_model_name']


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
    from .forced_ratio import STAGE_LATENCY_COLUMNS
    rows = read_csv(path, STAGE_LATENCY_COLUMNS)
    mine: Dict[int, float] = {
        int(r['batch_size']): float(r['ms_per_img']) for r in rows
        if r['model'] == model and r['backend'] == backend and r['device'] == device}
    if not mine:
        have: List[str] = sorted({f'{r["model"]} [{r["backend"]}, {r["device"]}]'
                                  for r in rows})
        raise ValueError(f'{path} has no latency of {model} [{backend}, {device}] (it has: '
                         f'{have}); measure it with tools/benchmark.py (a cascade with this '
                         f'stage, --backend {backend} --device {device}).')
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
