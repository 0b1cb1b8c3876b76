"""Wall-clock benchmark of a cascade vs its stages, at forced exit ratios."""
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from tqdm import tqdm

from tinysaver_mm.core import (CONFIDENCE_RULES, cascade_macs_per_image,
                               confidence_scores)
from tinysaver_mm.utils.report import merge_csv, read_csv

__all__ = ['forced_threshold', 'fuse_stages', 'time_fn', 'time_fns', 'benchmark_cascade',
           'goal_report', 'markdown_table', 'read_rows', 'run_benchmark', 'CSV_COLUMNS']

_SYNTHETIC = '_benchmark_synthetic'

CSV_COLUMNS = [
    'pair', 'batch_size', 'exit_ratio', 'ms_per_img_base', 'ms_per_img_cascade',
    'speedup', 'macs_speedup', 'efficiency', 'ms_per_img_saver',
    'ms_per_img_cascade_min', 'ms_per_img_cascade_max', 'img_per_s_base',
    'img_per_s_saver', 'img_per_s_cascade',
    'ms_per_img_back_to_back', 'stages_speedup', 'routing_overhead_pct'
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
    return time_fns({'fn': fn}, warmup, repeats)['fn']


def time_fns(fns: Dict[str, Callable[[], object]], warmup: int,
             repeats: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, timed in alternation.

    Each round calls every function once, in an order reversed every other
    round, so drift of the machine's speed (other load, frequency scaling)
    affects all of them alike and their ratios stay fair.

    Args:
        fns (dict[str, callable]): Functions to time.
        warmup (int): Untimed rounds first.
        repeats (int): Timed rounds.

    Returns:
        dict[str, list[float]]: ``repeats`` timings per function.
    """
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    names = list(fns)
    times: Dict[str, List[float]] = {k: [] for k in names}
    for i in range(warmup + repeats):
        for name in (names if i % 2 == 0 else names[::-1]):
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


@torch.no_grad()
def benchmark_cascade(model, make_batch: Callable[[int], torch.Tensor], pair: str,
                      batch_sizes: Sequence[int] = (1, 32, 256),
                      exit_ratios: Sequence[float] = (0, 0.25, 0.5, 0.75, 0.9, 1.0),
                      warmup: int = 2, repeats: int = 5,
                      macs: Optional[Dict[str, int]] = None,
                      synthetic_confidence: bool = False) -> List[dict]:
    """Time base alone, saver alone, the routed cascade and its stages back to back.

    Everything runs through ``test_step`` (preprocessing + predict), as the
    Runner calls it. Exit ratios are forced per batch with
    :func:`forced_threshold`, so the cascade code itself is unchanged; a row
    is written per exit ratio that the batch size can realise
    (``round(r * batch_size) / batch_size``, so batch 1 gives only 0 and 1),
    and ``exit_ratio`` is that realised share. At
    each exit ratio, base alone, the cascade and "back to back" (the saver on
    the batch, then the base on the images the cascade sends it, without
    routing) are timed call by call in alternation: ``routing_overhead_pct``
    is the cascade's time over back to back (at exit ratio 0: over saver +
    base on the whole batch), ``stages_speedup`` the speedup free routing
    would give with these two models, ``efficiency`` the measured speedup
    over the MACs-predicted one. Ratios are medians over rounds of the ratio
    of the calls made in the same round (robust to the machine's speed
    drifting between rounds); the ``ms_per_img_*`` columns are medians.

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
        saver = model.saver
        ms_saver = 1e3 * statistics.median(
            time_fn(lambda: saver.test_step(data), warmup, repeats)) / bs
        saved_thr, saved_rule = model.threshold, model.exit_rule
        if synthetic_confidence:
            conf = torch.rand(bs, generator=torch.Generator().manual_seed(bs))
            CONFIDENCE_RULES[_SYNTHETIC] = lambda probs, c=conf: c[:probs.size(0)]
            model.exit_rule = _SYNTHETIC
        else:
            conf = confidence_scores(model.stage_probs('saver', raw), model.exit_rule)
        try:
            rows += _sweep(model, data, conf, bs, ms_saver, macs, pair, exit_ratios, warmup,
                           repeats)
        finally:
            model.threshold, model.exit_rule = saved_thr, saved_rule
            CONFIDENCE_RULES.pop(_SYNTHETIC, None)
    return rows


def _sweep(model, data, conf, bs, ms_saver, macs, pair, exit_ratios, warmup, repeats):
    """Time base alone, the cascade and its stages back to back at each exit ratio.

    "Back to back" is the saver on the batch, then the base on exactly the
    images the cascade sends it, with no routing: the cascade's time when
    routing is free. All three alternate call by call (:func:`time_fns`).
    """
    rows = []
    raw = data['inputs']
    base_alone = lambda: model.base.test_step(data)  # noqa: E731
    # the share that really exits: round(r * bs) of bs images (batch 1: 0 or 1)
    realised = dict.fromkeys(round(float(r) * bs) / bs for r in exit_ratios)
    for r in tqdm(realised, desc=f'{pair} batch {bs}', unit='ratio'):
        model.threshold = forced_threshold(conf, r)
        passed = (conf < model.threshold).nonzero().squeeze(1)
        rest = {'inputs': raw[passed.to(raw.device)], 'data_samples': None}

        def back_to_back(rest=rest):
            model.saver.test_step(data)
            if len(rest['inputs']):
                model.base.test_step(rest)

        t = time_fns(dict(base=base_alone, cascade=lambda: model.test_step(data),
                          back_to_back=back_to_back), warmup, repeats)
        med = {k: 1e3 * statistics.median(v) / bs for k, v in t.items()}
        cascade = [1e3 * x / bs for x in t['cascade']]
        predicted = macs['base'] / cascade_macs_per_image(
            [macs['saver'], macs['base']], [1.0, 1.0 - float(r)])
        # ratios of calls made in the same round, then their median: robust to drift
        paired = lambda a, b: statistics.median(x / y for x, y in zip(t[a], t[b]))  # noqa: E731
        speedup = paired('base', 'cascade')
        rows.append(dict(
            pair=pair, batch_size=bs, exit_ratio=float(r),
            ms_per_img_base=med['base'], ms_per_img_cascade=med['cascade'],
            speedup=speedup, macs_speedup=predicted, efficiency=speedup / predicted,
            ms_per_img_saver=ms_saver, ms_per_img_cascade_min=min(cascade),
            ms_per_img_cascade_max=max(cascade), img_per_s_base=1e3 / med['base'],
            img_per_s_saver=1e3 / ms_saver, img_per_s_cascade=1e3 / med['cascade'],
            ms_per_img_back_to_back=med['back_to_back'],
            stages_speedup=paired('base', 'back_to_back'),
            routing_overhead_pct=100.0 * (paired('cascade', 'back_to_back') - 1.0)))
    return rows


TABLE_COLUMNS = [('pair', 'pair', '{}'), ('batch', 'batch_size', '{}'),
                 ('exit ratio', 'exit_ratio', '{:g}'), ('ms/img base', 'ms_per_img_base', '{:.4f}'),
                 ('ms/img cascade', 'ms_per_img_cascade', '{:.4f}'),
                 ('speedup', 'speedup', '{:.2f}'), ('MACs-predicted', 'macs_speedup', '{:.2f}'),
                 ('efficiency', 'efficiency', '{:.2f}'),
                 ('stages back to back', 'stages_speedup', '{:.2f}'),
                 ('routing overhead %', 'routing_overhead_pct', '{:.1f}')]


def read_rows(path: str) -> List[dict]:
    """Rows of a benchmark CSV, numbers as numbers.

    Raises:
        FileNotFoundError: If there is no such CSV.
        ValueError: If it is a CSV of other columns.
    """
    rows = read_csv(path, CSV_COLUMNS)
    for r in rows:
        for k, v in r.items():
            if k != 'pair':
                r[k] = int(v) if k == 'batch_size' else (float(v) if v != '' else float('nan'))
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The main columns of benchmark rows as a Markdown table."""
    lines = ['| ' + ' | '.join(h for h, _, _ in TABLE_COLUMNS) + ' |',
             '|' + '---|' * len(TABLE_COLUMNS)]
    lines += ['| ' + ' | '.join(fmt.format(r[k]) for _, k, fmt in TABLE_COLUMNS) + ' |'
              for r in rows]
    return '\n'.join(lines)


def goal_report(rows: List[dict], min_efficiency: float = 0.85, min_batch: int = 32,
                max_overhead_pct: float = 3.0) -> List[str]:
    """Lines saying which rows meet the speed goals and which miss them.

    Goals (issue 5): efficiency >= ``min_efficiency`` at batch >= ``min_batch``,
    and routing overhead <= ``max_overhead_pct`` at exit ratio 0 (cascade vs
    saver + base back to back), each per pair. A row that misses the
    efficiency goal also shows the efficiency of saver + base back to back
    (``stages_speedup / macs_speedup``): what free routing would reach with
    these two models, so a miss of the models' own times (a layer's time not
    proportional to its MACs, a smaller batch costing more per image) is told
    apart from one of the routing.

    Args:
        rows (list[dict]): Rows from :func:`benchmark_cascade`.
        min_efficiency (float): Efficiency goal.
        min_batch (int): Smallest batch size the efficiency goal is for.
        max_overhead_pct (float): Overhead goal, in percent.

    Returns:
        list[str]: One line per pair and goal, with the rows that miss it.
    """
    lines = []
    for pair in dict.fromkeys(r['pair'] for r in rows):
        mine = [r for r in rows if r['pair'] == pair]
        eff = [r for r in mine if r['batch_size'] >= min_batch]
        miss = [f'batch {r["batch_size"]} exit {r["exit_ratio"]:g}: {r["efficiency"]:.3f}'
                f' (free routing: {r["stages_speedup"] / r["macs_speedup"]:.3f})'
                for r in eff if r['efficiency'] < min_efficiency]
        if eff:
            lines.append(f'{pair}: efficiency >= {min_efficiency} at batch >= {min_batch}: '
                         + (f'MISSED at {"; ".join(miss)}' if miss else
                            f'met ({len(eff)} rows, min {min(r["efficiency"] for r in eff):.3f})'))
        over = [r for r in mine if r['exit_ratio'] == 0]
        miss = [f'batch {r["batch_size"]}: {r["routing_overhead_pct"]:.1f}%'
                for r in over if r['routing_overhead_pct'] > max_overhead_pct]
        if over:
            lines.append(f'{pair}: routing overhead <= {max_overhead_pct}% at exit 0: '
                         + (f'MISSED at {"; ".join(miss)}' if miss else
                            'met (' + ', '.join(f'batch {r["batch_size"]}: '
                                               f'{r["routing_overhead_pct"]:.1f}%'
                                               for r in over) + ')'))
    return lines


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
            ``results/benchmark_<device>.csv``); rows already there for other
            pairs or batch sizes are kept, and a PNG is written beside it.
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
    from tinysaver_mm.visualization import plot_speedup
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
    all_rows = merge_csv(rows, out, CSV_COLUMNS, key=('pair', 'batch_size'))
    plot_speedup(all_rows, osp.splitext(out)[0] + '.png')
    return rows
