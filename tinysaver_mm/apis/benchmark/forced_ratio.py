"""Wall-clock benchmark of a cascade vs its stages, at forced exit ratios."""
import contextlib
import math
import statistics
from typing import Callable, Dict, List, Optional, Sequence

import torch
from tqdm import tqdm

from tinysaver_mm.core import cascade_macs_per_image, confidence_scores
from tinysaver_mm.utils.report import merge_csv
from .latency_table import STAGE_LATENCY_COLUMNS, stage_latency_rows
from .timing import first_test_batch, fuse_stages, stage_alone, time_fn, time_fns

__all__ = ['CSV_COLUMNS', 'forced_threshold', 'benchmark_cascade', 'run_benchmark']

CSV_COLUMNS = [
    'pair', 'backend', 'batch_size', 'exit_ratio', 'ms_per_img_base', 'ms_per_img_cascade',
    'speedup', 'macs_speedup', 'efficiency', 'ms_per_img_saver',
    'ms_per_img_cascade_min', 'ms_per_img_cascade_max', 'img_per_s_base',
    'img_per_s_saver', 'img_per_s_cascade',
    'ms_per_img_back_to_back', 'stages_speedup', 'routing_overhead_pct',
    'base_rows', 'ms_per_img_base_rows', 'ms_per_img_eager_base', 'speedup_vs_eager_base'
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
            confidences (one per image) instead of the saver's, through the
            cascade's :meth:`forced_exit_scores`: saver and base still run in
            full and the routing code is the same. For random-weight savers,
            whose confidences tie.

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
        saver = stage_alone(model, 'saver')
        ms_saver = 1e3 * statistics.median(
            time_fn(lambda: saver(data), warmup, repeats)) / bs
        saved_thr = model.threshold
        if synthetic_confidence:
            conf = torch.rand(bs, generator=torch.Generator().manual_seed(bs))
            forced = model.forced_exit_scores(lambda step, out, c=conf: c[:len(out)])
        else:
            conf = confidence_scores(model.stage_probs('saver', raw), model.exit_rule)
            forced = contextlib.nullcontext()
        try:
            with forced:
                rows += _sweep(model, data, conf, bs, ms_saver, macs, pair, exit_ratios,
                               warmup, repeats)
        finally:
            model.threshold = saved_thr
    return rows


def _sweep(model, data, conf, bs, ms_saver, macs, pair, exit_ratios, warmup, repeats):
    """Time base alone, the cascade and its stages back to back at each exit ratio.

    "Back to back" is the saver on the batch, then the base on exactly the
    images the cascade sends it, with no routing: the cascade's time when
    routing is free. All three alternate call by call (:func:`time_fns`).
    """
    rows = []
    raw = data['inputs']
    backend = getattr(model, 'backend', 'pytorch')
    base = stage_alone(model, 'base')
    saver = stage_alone(model, 'saver')
    base_alone = lambda: base(data)  # noqa: E731
    # the share that really exits: round(r * bs) of bs images (batch 1: 0 or 1)
    realised = dict.fromkeys(round(float(r) * bs) / bs for r in exit_ratios)
    for r in tqdm(realised, desc=f'{pair} batch {bs}', unit='ratio'):
        model.threshold = forced_threshold(conf, r)
        passed = (conf < model.threshold).nonzero().squeeze(1)
        rest = {'inputs': raw[passed.to(raw.device)], 'data_samples': None}

        def back_to_back(rest=rest):
            saver(data)
            if len(rest['inputs']):
                base(rest)

        fns = dict(base=base_alone, cascade=lambda: model.test_step(data),
                   back_to_back=back_to_back)
        if len(rest['inputs']) and len(rest['inputs']) < bs:  # the sub-batch routing gives it
            fns['base_rows'] = lambda rest=rest: base(rest)
        if backend != 'pytorch':  # the reference users have today: PyTorch eager
            fns['eager_base'] = lambda: model.base.test_step(data)
        t = time_fns(fns, warmup, repeats)
        med = {k: 1e3 * statistics.median(v) / bs for k, v in t.items()}
        cascade = [1e3 * x / bs for x in t['cascade']]
        predicted = macs['base'] / cascade_macs_per_image(
            [macs['saver'], macs['base']], [1.0, 1.0 - float(r)])
        # ratios of calls made in the same round, then their median: robust to drift
        paired = lambda a, b: statistics.median(x / y for x, y in zip(t[a], t[b]))  # noqa: E731
        speedup = paired('base', 'cascade')
        n_rest = len(rest['inputs'])
        rest_ms = (1e3 * statistics.median(t['base_rows']) / n_rest if 'base_rows' in t
                   else med['base'] if n_rest == bs else math.nan)
        rows.append(dict(
            pair=pair, backend=backend, batch_size=bs, exit_ratio=float(r),
            ms_per_img_base=med['base'], ms_per_img_cascade=med['cascade'],
            speedup=speedup, macs_speedup=predicted, efficiency=speedup / predicted,
            ms_per_img_saver=ms_saver, ms_per_img_cascade_min=min(cascade),
            ms_per_img_cascade_max=max(cascade), img_per_s_base=1e3 / med['base'],
            img_per_s_saver=1e3 / ms_saver, img_per_s_cascade=1e3 / med['cascade'],
            ms_per_img_back_to_back=med['back_to_back'],
            stages_speedup=paired('base', 'back_to_back'),
            routing_overhead_pct=100.0 * (paired('cascade', 'back_to_back') - 1.0),
            base_rows=n_rest, ms_per_img_base_rows=rest_ms,
            ms_per_img_eager_base=med.get('eager_base', med['base']),
            speedup_vs_eager_base=paired('eager_base', 'cascade') if 'eager_base' in t
            else speedup))
    return rows

def run_benchmark(config: str, checkpoint: Optional[str] = None, pair: Optional[str] = None,
                  batch_sizes: Sequence[int] = (1, 32, 256),
                  exit_ratios: Sequence[float] = (0, 0.25, 0.5, 0.75, 0.9, 1.0),
                  warmup: int = 2, repeats: int = 5, random_weights: bool = False,
                  input_shape: Optional[Sequence[int]] = None,
                  out: Optional[str] = None, device: str = 'auto',
                  fuse_conv_bn: bool = False, backend: str = 'pytorch',
                  deploy_dir: Optional[str] = None,
                  stage_latency_out: Optional[str] = None) -> List[dict]:
    """Benchmark a cascade config and write CSV + PNG (``tools/benchmark.py forced-ratio``).

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
            pairs, backends or batch sizes are kept, and a PNG is written beside it.
        device (str): ``'auto'`` (CUDA when available, else CPU), ``'cpu'``
            or ``'cuda'``.
        fuse_conv_bn (bool): Fold each BatchNorm into the preceding conv in
            both stages (mmcv's ``fuse_conv_bn``) before timing, as mmdet's
            benchmark tool offers. Outputs are unchanged up to float rounding.
        backend (str): ``'pytorch'`` or ``'onnxruntime'`` (CPU): the stages run
            from the ONNX files of ``deploy_dir``, or, without one, of an export
            of these very weights into a temporary folder (``tools/deploy.py``'s).
        deploy_dir (str, optional): A ``tools/deploy.py`` folder of this cascade.
        stage_latency_out (str, optional): Per-stage latency table CSV
            (default ``results/stage_latency_<device>.csv``), merged like ``out``.

    Returns:
        list[dict]: This run's rows.

    Raises:
        TypeError: If the config is not a classification cascade.
        ValueError: On a device that is not available, or onnxruntime on CUDA.
    """
    import os.path as osp
    import shutil
    import tempfile

    from tinysaver_mm.visualization import plot_speedup
    from tinysaver_mm.utils import stage_model_name
    from ..deploy import export_cascade, init_deployable
    model = init_deployable(config, checkpoint, random_weights)
    cfg = model.cfg
    if fuse_conv_bn:
        fuse_stages(model)
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device not in ('cpu', 'cuda') or (device == 'cuda' and not torch.cuda.is_available()):
        raise ValueError(f'device {device!r} is not available here; use auto, cpu or cuda.')
    if backend != 'pytorch' and device != 'cpu':
        raise ValueError(f'backend={backend!r} runs on the CPU here; use --device cpu.')
    out = out or f'results/benchmark_{device}.csv'
    stage_latency_out = stage_latency_out or f'results/stage_latency_{device}.csv'
    n = max(batch_sizes)
    if input_shape:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, *input_shape), generator=g, dtype=torch.uint8)
    else:
        images = first_test_batch(cfg, n, f'batch size {n}')[0]
    tmp = None
    if backend != 'pytorch':
        if deploy_dir is None:
            tmp = deploy_dir = tempfile.mkdtemp(prefix='tinysaver_bench_')
            export_cascade(model, deploy_dir, list(images.shape[1:]), config=config)
        model.use_backend(backend, deploy_dir)
    model.to(device)
    pair = pair or osp.splitext(osp.basename(config))[0]
    images = images.to(device)
    macs = model.measure_stage_macs(images[:1])
    try:
        rows = benchmark_cascade(model, lambda bs: images[:bs], pair, batch_sizes,
                                 exit_ratios, warmup, repeats, macs=macs,
                                 synthetic_confidence=random_weights)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    all_rows = merge_csv(rows, out, CSV_COLUMNS, key=('pair', 'backend', 'batch_size'))
    plot_speedup(all_rows, osp.splitext(out)[0] + '.png')
    models = {role: stage_model_name(cfg.model[role]) for role in ('saver', 'base')}
    merge_csv(stage_latency_rows(rows, models, {k: v / 1e9 for k, v in macs.items()}, device,
                                 osp.basename(config)),
              stage_latency_out, STAGE_LATENCY_COLUMNS, key=('model', 'backend', 'device',
                                                           'batch_size'))
    return rows
