"""Wall-clock benchmark of a cascade vs its stages, at forced exit ratios."""
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from tqdm import tqdm

from tinysaver_mm.core import (CONFIDENCE_RULES, cascade_macs_per_image,
                               confidence_scores)

__all__ = ['forced_threshold', 'fuse_stages', 'time_fn', 'benchmark_cascade', 'run_benchmark',
           'CSV_COLUMNS']

_SYNTHETIC = '_benchmark_synthetic'

CSV_COLUMNS = [
    'pair', 'batch_size', 'exit_ratio', 'ms_per_img_base', 'ms_per_img_cascade',
    'speedup', 'macs_speedup', 'efficiency', 'ms_per_img_saver',
    'ms_per_img_cascade_min', 'ms_per_img_cascade_max', 'img_per_s_cascade',
    'routing_overhead_pct'
]


def forced_threshold(confidence: torch.Tensor, exit_ratio: float) -> float:
    """The threshold at which ``round(exit_ratio * N)`` images of a batch exit.

    Args:
        confidence (torch.Tensor): Saver confidence of each image, shape (N,).
        exit_ratio (float): Wanted share of exits, in [0, 1].

    Returns:
        float: A threshold in [0, 1] (the k-th largest confidence, or just
        above the largest for no exit).

    Raises:
        ValueError: If ``exit_ratio`` is outside [0, 1], or no threshold in
            [0, 1] gives that share (ties or saturated confidences).
    """
    if not 0.0 <= float(exit_ratio) <= 1.0:
        raise ValueError(f'exit ratio {exit_ratio!r} is outside [0, 1].')
    # in the confidences' own dtype: that is what the cascade compares
    conf = confidence.sort(descending=True).values
    k = int(round(float(exit_ratio) * conf.numel()))
    if k == 0:
        thr = float(torch.nextafter(conf[0], torch.tensor(2.0, dtype=conf.dtype)))
    else:
        thr = float(conf[k - 1])
    got = int((confidence >= thr).sum())
    if thr > 1.0 or got != k:
        raise ValueError(f'cannot force exit ratio {exit_ratio}: saver confidences '
                         'tie or saturate at 1 on this batch.')
    return thr


def fuse_stages(model) -> None:
    """Fold BatchNorm into the preceding convs of every stage of a cascade, in place."""
    from mmcv.cnn import fuse_conv_bn
    model.eval()
    for role in model.stage_names:
        setattr(model, role, fuse_conv_bn(getattr(model, role)))


def time_fn(fn: Callable[[], object], warmup: int, repeats: int) -> List[float]:
    """Seconds per call of ``fn``, after ``warmup`` untimed calls.

    CUDA work is synchronised before and after each timed call.
    """
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


@torch.no_grad()
def benchmark_cascade(model, make_batch: Callable[[int], torch.Tensor], pair: str,
                      batch_sizes: Sequence[int] = (1, 32, 256),
                      exit_ratios: Sequence[float] = (0, 0.25, 0.5, 0.75, 0.9, 1.0),
                      warmup: int = 2, repeats: int = 5,
                      macs: Optional[Dict[str, int]] = None,
                      synthetic_confidence: bool = False) -> List[dict]:
    """Time base alone, saver alone and the routed cascade.

    All three run through ``test_step`` (preprocessing + predict), as the
    Runner calls them. Exit ratios are forced per batch with
    :func:`forced_threshold`, so the cascade code itself is unchanged.

    Args:
        model: A two-stage TinySaver cascade.
        make_batch (callable): ``batch_size -> raw uint8 batch``.
        pair (str): Name written in every row.
        batch_sizes (Sequence[int]): Batch sizes, each >= 1.
        exit_ratios (Sequence[float]): Exit ratios, each in [0, 1].
        warmup (int): Untimed calls before timing.
        repeats (int): Timed calls; the median is reported.
        macs (dict, optional): Stage MACs per image; measured if not given.
        synthetic_confidence (bool): Decide exits on pre-drawn uniform random
            confidences (one per image) instead of the saver's, through a
            temporary exit rule: saver and base still run in full and the
            routing code is the same. For random-weight savers, whose
            confidences tie.

    Returns:
        list[dict]: One row per (batch size, exit ratio), keys
        :data:`CSV_COLUMNS`.

    Raises:
        TypeError: If ``model`` is not a two-stage cascade.
        ValueError: On a batch size < 1 or an exit ratio outside [0, 1].
    """
    if tuple(getattr(model, 'stage_names', ())) != ('saver', 'base'):
        raise TypeError(f'benchmark needs a two-stage TinySaver cascade (saver, '
                        f'base); got {type(model).__name__}.')
    for bs in batch_sizes:
        if int(bs) != bs or bs < 1:
            raise ValueError(f'batch size {bs!r} must be a whole number >= 1.')
    for r in exit_ratios:
        if not 0.0 <= float(r) <= 1.0:
            raise ValueError(f'exit ratio {r!r} is outside [0, 1].')
    model.eval()
    macs = macs or model.measure_stage_macs(make_batch(1))
    rows = []
    for bs in batch_sizes:
        raw = make_batch(bs)
        data = {'inputs': raw, 'data_samples': None}
        ms = {}
        for role in ('saver', 'base'):
            stage = getattr(model, role)
            t = time_fn(lambda: stage.test_step(data), warmup, repeats)
            ms[role] = 1e3 * statistics.median(t) / bs
        saved_thr, saved_rule = model.threshold, model.exit_rule
        if synthetic_confidence:
            conf = torch.rand(bs, generator=torch.Generator().manual_seed(bs))
            CONFIDENCE_RULES[_SYNTHETIC] = lambda probs, c=conf: c[:probs.size(0)]
            model.exit_rule = _SYNTHETIC
        else:
            conf = confidence_scores(model.stage_probs('saver', raw), model.exit_rule)
        try:
            rows += _sweep(model, data, conf, bs, ms, macs, pair, exit_ratios, warmup,
                           repeats)
        finally:
            model.threshold, model.exit_rule = saved_thr, saved_rule
            CONFIDENCE_RULES.pop(_SYNTHETIC, None)
    return rows


def _sweep(model, data, conf, bs, ms, macs, pair, exit_ratios, warmup, repeats):
    """Time the cascade at each forced exit ratio of one batch."""
    rows = []
    for r in tqdm(exit_ratios, desc=f'{pair} batch {bs}', unit='ratio'):
        model.threshold = forced_threshold(conf, r)
        t = time_fn(lambda: model.test_step(data), warmup, repeats)
        cascade = [1e3 * x / bs for x in t]
        med = statistics.median(cascade)
        predicted = macs['base'] / cascade_macs_per_image(
            [macs['saver'], macs['base']], [1.0, 1.0 - float(r)])
        rows.append(dict(
            pair=pair, batch_size=bs, exit_ratio=float(r),
            ms_per_img_base=ms['base'], ms_per_img_cascade=med,
            speedup=ms['base'] / med, macs_speedup=predicted,
            efficiency=(ms['base'] / med) / predicted,
            ms_per_img_saver=ms['saver'], ms_per_img_cascade_min=min(cascade),
            ms_per_img_cascade_max=max(cascade), img_per_s_cascade=1e3 / med,
            routing_overhead_pct=(100.0 * (med / (ms['saver'] + ms['base']) - 1.0)
                                  if float(r) == 0.0 else float('nan'))))
    return rows


def run_benchmark(config: str, checkpoint: Optional[str] = None, pair: Optional[str] = None,
                  batch_sizes: Sequence[int] = (1, 32, 256),
                  exit_ratios: Sequence[float] = (0, 0.25, 0.5, 0.75, 0.9, 1.0),
                  warmup: int = 2, repeats: int = 5, random_weights: bool = False,
                  input_shape: Optional[Sequence[int]] = None,
                  out: Optional[str] = None, device: str = 'auto',
                  fuse_conv_bn: bool = False) -> List[dict]:
    """Benchmark a cascade config and write CSV + PNG (``tools/benchmark.py``).

    Args:
        config (str): A TinySaverClassifier config.
        checkpoint (str, optional): Whole-cascade weights, loaded strictly.
        pair (str, optional): Row label; defaults to the config's name.
        batch_sizes, exit_ratios, warmup, repeats: See :func:`benchmark_cascade`.
        random_weights (bool): Ignore the stages' checkpoints (speed does not
            depend on the weights), e.g. for zoo pairs without internet. A
            random-weight saver gives (nearly) identical confidences, so exits
            are then decided on pre-drawn random confidences (see
            :func:`benchmark_cascade`).
        input_shape (Sequence[int], optional): ``C H W`` of random uint8
            images; by default the config's test images are used.
        out (str, optional): CSV path (default
            ``results/benchmark_<device>.csv``); rows of other pairs already
            there are kept, and a PNG is written beside it.
        device (str): ``'auto'`` (CUDA when available, else CPU), ``'cpu'``
            or ``'cuda'``.
        fuse_conv_bn (bool): Fold each BatchNorm into the preceding conv in
            both stages (mmcv's ``fuse_conv_bn``) before timing, as mmdet's
            benchmark tool offers; it removes per-layer work that weighs most
            on tiny savers. Outputs are unchanged up to float rounding.

    Returns:
        list[dict]: This run's rows.
    """
    import os.path as osp

    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from tinysaver_mm.utils import load_checkpoint_strict
    from tinysaver_mm.utils.report import merge_csv, plot_speedup
    from .runner import load_cfg
    cfg = load_cfg(config)
    if cfg.model.get('type') != 'TinySaverClassifier':
        raise TypeError(f'{config} is not a cascade config (model type '
                        f'{cfg.model.get("type")!r}); give a TinySaverClassifier config.')
    if random_weights:
        for role in ('saver', 'base'):
            cfg.model[role]['checkpoint'] = None
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    from tinysaver_mm.utils import model_cfg_of
    model = MODELS.build(model_cfg_of(cfg))
    if checkpoint:
        load_checkpoint_strict(model, checkpoint)
    if fuse_conv_bn:
        fuse_stages(model)
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device not in ('cpu', 'cuda') or (device == 'cuda' and not torch.cuda.is_available()):
        raise ValueError(f'device {device!r} is not available here; use auto, cpu or cuda.')
    model.to(device)
    out = out or f'results/benchmark_{device}.csv'
    n = max(batch_sizes)
    if input_shape:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, *input_shape), generator=g, dtype=torch.uint8)
    else:
        loader_cfg = dict(cfg.test_dataloader, batch_size=n, num_workers=0,
                          persistent_workers=False)
        images = next(iter(Runner.build_dataloader(loader_cfg)))['inputs']
        if isinstance(images, (list, tuple)):  # mmengine's pseudo_collate
            images = torch.stack(list(images))
        if len(images) < n:
            raise ValueError(f'the test set has {len(images)} images, fewer than '
                             f'batch size {n}.')
    pair = pair or osp.splitext(osp.basename(config))[0]
    images = images.to(device)
    rows = benchmark_cascade(model, lambda bs: images[:bs], pair, batch_sizes,
                             exit_ratios, warmup, repeats,
                             synthetic_confidence=random_weights)
    all_rows = merge_csv(rows, out, CSV_COLUMNS)
    plot_speedup(all_rows, osp.splitext(out)[0] + '.png')
    return rows
