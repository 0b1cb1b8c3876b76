"""A closed-loop load test of a served cascade (``tools/serve_bench.py``): loopback only.

C clients each send one image per request, wait for the answer, and send the
next, over HTTP or through the Serve handle, until ``requests`` answers or
``max_seconds`` have passed. Each row reports images/s, latency
percentiles, the realised exit ratio, the base's batch sizes during the run
(from ``/stats``), the served accuracy, and the ideal throughput
``1 / (t_saver(B) + (1 - r) t_base(B))`` with the per-image stage times
measured offline in the same process at the base's max batch size B.
"""
import base64
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

__all__ = ['SERVING_COLUMNS', 'closed_loop', 'stage_ms_per_img', 'bench_row', 'serve_bench',
           'bench_goals']

SERVING_COLUMNS = ('pair', 'served', 'transport', 'clients', 'requests', 'refused', 'exit_ratio',
                   'img_per_s', 'p50_ms', 'p95_ms', 'p99_ms', 'base_mean_batch',
                   'base_max_batch', 'max_batch_size', 't_saver_ms', 't_base_ms',
                   'ideal_img_per_s', 'efficiency_vs_ideal', 'accuracy', 'seconds',
                   'load_avg_1min')


def http_sender(url: str, timeout: float = 60.0) -> Callable[[bytes], tuple]:
    """``send(png) -> (status, payload)`` over HTTP (127.0.0.1 only).

    Raises:
        ValueError: If ``url`` is not on the loopback address.
    """
    if not url.startswith(('http://127.0.0.1:', 'http://localhost:')):
        raise ValueError(f'url={url!r}: the benchmark targets loopback only (127.0.0.1).')

    def send(png: bytes) -> tuple:
        req = urllib.request.Request(url, data=png, headers={'Content-Type': 'image/png'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None
    return send


def handle_sender(handle, timeout: float = 60.0) -> Callable[[bytes], tuple]:
    """``send(png) -> (status, payload)`` through a Serve handle's ``predict``."""
    def send(png: bytes) -> tuple:
        try:
            res = handle.predict.remote([png]).result(timeout_s=timeout)
        except Exception:  # backpressure, timeouts
            return 503, None
        return res['status'], res
    return send


def closed_loop(send: Callable[[bytes], tuple], images: Sequence[bytes], clients: int,
                requests: int, max_seconds: float) -> dict:
    """Run C clients in a closed loop; image ``i`` of the stream is ``images[i % n]``.

    Returns:
        dict: ``latencies_ms`` (answered requests), ``answers`` (index, answer),
        ``refused`` (count), ``seconds`` (wall time).
    """
    lock = threading.Lock()
    state = dict(next=0)
    lat, answers, refused = [], [], [0]
    t0 = time.perf_counter()

    def client():
        while True:
            with lock:
                i = state['next']
                if i >= requests or time.perf_counter() - t0 > max_seconds:
                    return
                state['next'] += 1
            t = time.perf_counter()
            status, payload = send(images[i % len(images)])
            ms = (time.perf_counter() - t) * 1e3
            with lock:
                if status == 200:
                    lat.append(ms)
                    answers.append((i % len(images), payload['results'][0]))
                else:
                    refused[0] += 1

    threads = [threading.Thread(target=client) for _ in range(int(clients))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return dict(latencies_ms=lat, answers=answers, refused=refused[0],
                seconds=time.perf_counter() - t0)


@torch.no_grad()
def stage_ms_per_img(cascade, inputs: list, batch_size: int, repeats: int = 5) -> Dict[str, float]:
    """Per-image time (ms) of each stage alone on batches of ``batch_size`` raw inputs (median)."""
    x = [inputs[i % len(inputs)] for i in range(batch_size)]
    out = {}
    for role in cascade.route_names:
        cascade.run_stage(role, x)  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            cascade.run_stage(role, x)
            times.append((time.perf_counter() - t) * 1e3 / batch_size)
        out[role] = float(np.median(times))
    return out


def bench_row(pair: str, transport: str, clients: int, run: dict, labels: Sequence[int],
              batch_before: dict, batch_after: dict, stage_ms: Dict[str, float],
              max_batch_size: int) -> dict:
    """One CSV row (see :data:`SERVING_COLUMNS`) of a closed-loop run of a 2-stage cascade."""
    import os
    answers = run['answers']
    n = len(answers)
    exit_ratio = float(np.mean([a['exited'] for _, a in answers])) if n else float('nan')
    acc = float(np.mean([a['label'] == labels[i] for i, a in answers])) if n else float('nan')
    before, after = batch_before or {}, batch_after or {}
    sizes = {int(k): v - int(before.get(k, 0)) for k, v in after.items()}
    calls = sum(sizes.values())
    mean_b = sum(k * v for k, v in sizes.items()) / calls if calls else float('nan')
    max_b = max((k for k, v in sizes.items() if v > 0), default=0)
    lat = np.asarray(run['latencies_ms'])
    ideal = 1e3 / (stage_ms['saver'] + (1 - exit_ratio) * stage_ms['base'])
    ips = n / run['seconds']
    pct = (lambda q: float(np.percentile(lat, q))) if lat.size else (lambda q: float('nan'))
    return dict(pair=pair, served='cascade', transport=transport, clients=int(clients),
                requests=n, refused=run['refused'], exit_ratio=exit_ratio, img_per_s=ips,
                p50_ms=pct(50), p95_ms=pct(95), p99_ms=pct(99), base_mean_batch=mean_b,
                base_max_batch=max_b, max_batch_size=max_batch_size,
                t_saver_ms=stage_ms['saver'], t_base_ms=stage_ms['base'],
                ideal_img_per_s=ideal, efficiency_vs_ideal=ips / ideal, accuracy=acc,
                seconds=run['seconds'], load_avg_1min=os.getloadavg()[0])


def png_list(cascade, n: int) -> tuple:
    """The first ``n`` test images of the cascade's config as PNG bytes, and their labels."""
    from mmengine.registry import DATASETS, DefaultScope
    from tinysaver_mm.apis import cascade_scope
    import io
    from PIL import Image
    ds_cfg = dict(cascade.cfg.test_dataloader.dataset, indices=n)
    with DefaultScope.overwrite_default_scope(cascade_scope(cascade.cfg)):
        dataset = DATASETS.build(ds_cfg)
    images, labels = [], []
    for i in range(n):
        info = dataset.get_data_info(i)
        if info.get('img_path'):
            with open(info['img_path'], 'rb') as f:
                images.append(f.read())
        else:
            buf = io.BytesIO()
            Image.fromarray(info['img']).save(buf, format='PNG')
            images.append(buf.getvalue())
        labels.append(int(info['gt_label']))
    return images, labels


def serve_bench(config: str, pair: Optional[str] = None, clients: Sequence[int] = (1, 4, 16, 64),
                transports: Sequence[str] = ('http', 'handle'), requests: int = 600,
                max_seconds: float = 60.0, images: int = 1000, max_batch_size: int = 16,
                batch_wait_timeout_s: float = 0.005, num_cpus: int = 2,
                out: str = 'results/serving_cpu.csv', log: Callable[[str], None] = print
                ) -> List[dict]:
    """Serve a 2-stage classification cascade on a local Ray and run the closed loops.

    Rows of other pairs/clients/transports already in ``out`` are kept; a PNG
    is written beside it. Ray, its temp dir and the app are gone on return.

    Returns:
        list[dict]: This run's rows (:data:`SERVING_COLUMNS`).

    Raises:
        ValueError: On clients outside 1..128 or a cascade that is not 2-stage.
    """
    import os.path as osp
    import shutil
    import socket
    import tempfile
    import ray
    from ray import serve
    from tinysaver_mm.apis import init_cascade
    from tinysaver_mm.utils.report import merge_csv
    from tinysaver_mm.visualization.plots import plot_serving
    from .app import build_app
    from .frontend import CascadeFrontend
    if not 1 <= min(clients) <= max(clients) <= 128:
        raise ValueError(f'clients={list(clients)} must be between 1 and 128.')
    pair = pair or osp.splitext(osp.basename(config))[0]
    cascade = init_cascade(config)
    if len(cascade.route_names) != 2:
        raise ValueError('the benchmark takes 2-stage cascades (saver, base).')
    pngs, labels = png_list(cascade, images)
    front = CascadeFrontend(cascade)
    batch = front.pipeline.batch([front.pipeline.decode(b) for b in pngs[:max_batch_size]])
    torch.set_num_threads(1)  # each replica gets one CPU (num_cpus=1: OMP_NUM_THREADS=1)
    stage_ms = stage_ms_per_img(cascade, list(batch['inputs']), max_batch_size)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix='/tmp/tsb')
    rows = []
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
        serve.start(http_options=dict(host='127.0.0.1', port=port))
        serve.run(build_app(dict(config=config, max_batch_size=max_batch_size,
                                 batch_wait_timeout_s=batch_wait_timeout_s,
                                 max_ongoing_requests=max(16, max(clients)),
                                 max_queued_requests=4 * max(clients))),
                  name='bench', route_prefix='/')
        handle = serve.get_app_handle('bench')
        senders = dict(http=http_sender(f'http://127.0.0.1:{port}/'),
                       handle=handle_sender(handle))
        for transport in transports:
            closed_loop(senders[transport], pngs, 2, 20, 30)  # warm-up
            for c in clients:
                before = handle.stats_snapshot.remote().result()
                run = closed_loop(senders[transport], pngs, c, requests, max_seconds)
                time.sleep(0.5)  # the last stats records land
                after = handle.stats_snapshot.remote().result()
                row = bench_row(pair, transport, c, run, labels,
                                before['batch_size'].get('base', {}).get('histogram'),
                                after['batch_size'].get('base', {}).get('histogram'),
                                stage_ms, max_batch_size)
                rows.append(row)
                log(f'{transport:>6} C={c:<3} {row["img_per_s"]:7.1f} img/s  p50 '
                    f'{row["p50_ms"]:7.1f}  p99 {row["p99_ms"]:7.1f} ms  exit '
                    f'{row["exit_ratio"]:.3f}  base batch mean {row["base_mean_batch"]:.2f} '
                    f'max {row["base_max_batch"]}  ideal {row["ideal_img_per_s"]:.0f} img/s  '
                    f'acc {row["accuracy"]:.4f}  refused {row["refused"]}  load '
                    f'{row["load_avg_1min"]:.1f}')
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
            shutil.rmtree(tmp, ignore_errors=True)
    merge_csv(rows, out, SERVING_COLUMNS, key=('pair', 'served', 'transport', 'clients'))
    plot_serving(rows, osp.splitext(out)[0] + '.png')
    return rows


def bench_goals(rows: List[dict], max_batch_size: int) -> List[str]:
    """The issue's goals, one line each, as far as this benchmark measures them."""
    sat = max(rows, key=lambda r: r['img_per_s'])
    lines = [f're-batching: at the highest throughput ({sat["transport"]}, C={sat["clients"]}) '
             f'the base\'s mean batch is {sat["base_mean_batch"]:.2f} of max {max_batch_size} '
             f'({sat["base_mean_batch"] / max_batch_size:.2f}x; goal >= 0.8x): '
             + ('met' if sat['base_mean_batch'] >= 0.8 * max_batch_size else 'NOT met'),
             f'served vs ideal: {sat["efficiency_vs_ideal"]:.2f}x of '
             f'{sat["ideal_img_per_s"]:.0f} img/s (the ImageNet-size pair goal of >= 0.85x is '
             'not measured by this run)']
    for r in (r for r in rows if r['clients'] == 1):
        compute = r['t_saver_ms'] + (1 - r['exit_ratio']) * r['t_base_ms']
        lines.append(f'serving overhead per request ({r["transport"]}, C=1): p50 '
                     f'{r["p50_ms"]:.1f} ms - stage compute {compute:.2f} ms/img (at batch '
                     f'{max_batch_size}) = {r["p50_ms"] - compute:.1f} ms')
    lines.append('served base alone: not measured (not implemented in this tool)')
    return lines
