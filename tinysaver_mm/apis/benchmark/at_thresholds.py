"""Wall-clock of a cascade at its own thresholds on real images (any cascade, ESN included)."""
import json
import os.path as osp
import statistics
from typing import List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from tinysaver_mm.utils.report import merge_csv

__all__ = ['OPERATING_POINT_COLUMNS', 'benchmark_operating_point', 'run_operating_point']

OPERATING_POINT_COLUMNS = [
    'pair', 'batch_size', 'num_images', 'threshold', 'exit_shares', 'ms_per_img_base',
    'ms_per_img_cascade', 'ms_per_img_cascade_min', 'ms_per_img_cascade_max', 'speedup',
    'gmacs_base', 'gmacs_cascade', 'macs_speedup', 'efficiency', 'top1_pct_base',
    'top1_pct_cascade'
]


def _batches(images: torch.Tensor, bs: int) -> List[dict]:
    return [{'inputs': images[i:i + bs], 'data_samples': None}
            for i in range(0, len(images), bs)]


@torch.no_grad()
def benchmark_operating_point(model, images: torch.Tensor, labels: Optional[torch.Tensor],
                              pair: str, batch_sizes: Sequence[int] = (32, ),
                              warmup: int = 1, repeats: int = 5) -> List[dict]:
    """Time the base alone and the routed cascade at the cascade's thresholds.

    Each timed call is one pass over all ``images`` in batches of the batch
    size, through ``test_step`` (preprocessing + predict), the base alone and
    the cascade alternating call by call (see :func:`time_fns`); the exits
    are the cascade's own (no forced ratio), so this times any cascade,
    multi-exit ones (``TinySaverESN``) included. The cascade's MACs are what
    its predictions say each image cost (``macs``), the base's what the plain
    base costs (``macs_base_alone``, else the base stage's MACs).

    Args:
        model: A TinySaver cascade (eval mode).
        images (Tensor): Raw uint8 images (N, C, H, W).
        labels (Tensor, optional): Their labels, for the top-1 columns.
        pair (str): Row label.
        batch_sizes (Sequence[int]): Batch sizes, each >= 1.
        warmup (int): Untimed rounds.
        repeats (int): Timed rounds (medians reported).

    Returns:
        list[dict]: One row per batch size, keys :data:`OPERATING_POINT_COLUMNS`.

    Raises:
        ValueError: On a batch size < 1 or no image.
    """
    from .timing import stage_alone, time_fns
    if len(images) == 0:
        raise ValueError('benchmark_operating_point needs at least one image.')
    for bs in batch_sizes:
        if int(bs) != bs or bs < 1:
            raise ValueError(f'batch size {bs!r} must be a whole number >= 1.')
    model.eval()
    base = stage_alone(model, 'base')
    rows = []
    for bs in tqdm(batch_sizes, desc=f'{pair} at its thresholds', unit='batch size'):
        batches = _batches(images, int(bs))
        preds = [p for b in batches for p in model.test_step(b)]
        base_preds = [p for b in batches for p in base(b)]
        steps = list(preds[0].cascade_stages)
        shares = {s: float(np.mean([p.answered_by == s for p in preds])) for s in steps}
        gb = float(np.mean([p.get('macs_base_alone', p.get(f'macs_{steps[-1]}', 0))
                            for p in preds])) / 1e9
        gc = float(np.mean([p.macs for p in preds])) / 1e9
        t = time_fns(dict(base=lambda: [base(b) for b in batches],
                          cascade=lambda: [model.test_step(b) for b in batches]),
                     warmup, repeats)
        n = len(images)
        ms = {k: [1e3 * x / n for x in v] for k, v in t.items()}
        speedup = statistics.median(x / y for x, y in zip(t['base'], t['cascade']))
        row = dict(pair=pair, batch_size=int(bs), num_images=n,
                   threshold=json.dumps(model.threshold),
                   exit_shares=json.dumps(shares), ms_per_img_base=statistics.median(ms['base']),
                   ms_per_img_cascade=statistics.median(ms['cascade']),
                   ms_per_img_cascade_min=min(ms['cascade']),
                   ms_per_img_cascade_max=max(ms['cascade']), speedup=speedup,
                   gmacs_base=gb, gmacs_cascade=gc, macs_speedup=gb / gc,
                   efficiency=speedup / (gb / gc), top1_pct_base=float('nan'),
                   top1_pct_cascade=float('nan'))
        if labels is not None:
            for key, ps in (('top1_pct_base', base_preds), ('top1_pct_cascade', preds)):
                got = torch.stack([p.pred_label.reshape(-1)[0] for p in ps]).cpu()
                row[key] = 100.0 * float((got == labels.cpu()).float().mean())
        rows.append(row)
    return rows


def run_operating_point(config: str, checkpoint: Optional[str] = None,
                        pair: Optional[str] = None, batch_sizes: Sequence[int] = (32, ),
                        num_images: int = 1024, warmup: int = 1, repeats: int = 5,
                        out: str = 'results/operating_point_cpu.csv',
                        cfg_options: Optional[dict] = None) -> List[dict]:
    """``tools/benchmark.py at-thresholds CONFIG``: time a cascade at its thresholds.

    Args:
        config (str): A classification cascade config (``TinySaverESN`` too).
        checkpoint (str, optional): Whole-cascade weights, loaded strictly.
        pair (str, optional): Row label; defaults to the config's name.
        batch_sizes, warmup, repeats: See :func:`benchmark_operating_point`.
        num_images (int): The first test images timed (>= 1).
        out (str): CSV; rows already there for other pairs or batch sizes
            are kept.
        cfg_options (dict, optional): Overrides, e.g. ``model.threshold``.

    Returns:
        list[dict]: This run's rows.

    Raises:
        ValueError: If ``num_images`` < 1 or the test split has fewer images.
        TypeError: If the config is not a classification cascade.
    """
    from mmengine.registry import DefaultScope

    from ..inference import cascade_scope, init_cascade
    from ..runner import load_cfg
    from .timing import first_test_batch
    if int(num_images) != num_images or num_images < 1:
        raise ValueError(f'num_images={num_images!r} must be a whole number >= 1.')
    cfg = load_cfg(config, cfg_options)
    if cfg.model.get('type') not in ('TinySaverClassifier', 'TinySaverESN'):
        raise TypeError(f'{config} is not a classification cascade config (model type '
                        f'{cfg.model.get("type")!r}); give a TinySaverClassifier or '
                        'TinySaverESN config.')
    with DefaultScope.overwrite_default_scope(cascade_scope(cfg)):  # the caller's scope kept
        model = init_cascade(cfg, checkpoint)
    images, samples = first_test_batch(cfg, int(num_images), f'num_images={num_images}')
    labels = torch.cat([ds.gt_label for ds in samples])
    pair = pair or osp.splitext(osp.basename(config))[0]
    rows = benchmark_operating_point(model, images, labels, pair, batch_sizes, warmup, repeats)
    merge_csv(rows, out, OPERATING_POINT_COLUMNS, key=('pair', 'batch_size'))
    return rows
