"""Serve a TinySaver cascade over HTTP with Ray Serve (a local Ray; no cluster needed).

Example:
    python tools/serve.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
    curl -s -H 'Content-Type: image/png' --data-binary @img.png http://127.0.0.1:8000/
    curl -s http://127.0.0.1:8000/stats

The same application runs with ``serve run tinysaver_mm.serving:build_app config=CFG`` and
on a Ray cluster (``RAY_ADDRESS``): see docs/en/user_guides/serving.md.
"""
import argparse
import os
import signal
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Serve a TinySaver cascade (Ray Serve)')
    p.add_argument('config', help='cascade config (classification or detection)')
    p.add_argument('--checkpoint', help='whole-cascade weights (optional)')
    p.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    p.add_argument('--deploy-dir', help="tools/deploy.py folder, with --backend onnxruntime")
    p.add_argument('--saver-replicas', type=int, help='replicas of the saver deployment')
    p.add_argument('--base-replicas', type=int, help='replicas of the base deployment')
    p.add_argument('--max-batch-size', type=int, help="the base's @serve.batch max batch size")
    p.add_argument('--batch-wait-timeout-s', type=float, help="the base's @serve.batch wait")
    p.add_argument('--saver-max-batch-size', type=int,
                   help="the saver's @serve.batch max batch size (images of many requests)")
    p.add_argument('--calibration', help='calibration JSON with a drift reference (GET /stats '
                   'then reports the CUSUM drift test)')
    p.add_argument('--host', default='127.0.0.1',
                   help='HTTP address (default 127.0.0.1: this machine only)')
    p.add_argument('--port', type=int, default=8000)
    p.add_argument('--num-cpus', type=int, help='CPUs of the local Ray (default: all)')
    p.add_argument('--address', help='an existing Ray cluster (default: RAY_ADDRESS, else a '
                   'local Ray started here)')
    p.add_argument('--duration', type=float,
                   help='stop after this many seconds (default: until Ctrl-C)')
    return p.parse_args(argv)


def build_args(a) -> dict:
    """The builder's arguments from the command line (only what was given)."""
    args = dict(config=a.config, checkpoint=a.checkpoint, backend=a.backend,
                deploy_dir=a.deploy_dir, saver_replicas=a.saver_replicas,
                base_replicas=a.base_replicas, max_batch_size=a.max_batch_size,
                batch_wait_timeout_s=a.batch_wait_timeout_s,
                saver_max_batch_size=getattr(a, 'saver_max_batch_size', None),
                calibration=a.calibration)
    return {k: v for k, v in args.items() if v is not None}


def main(argv=None):
    a = parse_args(argv)
    from tinysaver_mm.serving import app_plan, build_app
    plan = app_plan(build_args(a))  # checks arguments before Ray starts
    import ray
    from ray import serve
    address = a.address or os.environ.get('RAY_ADDRESS')
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=a.num_cpus, include_dashboard=False)
    serve.start(http_options=dict(host=a.host, port=a.port))
    serve.run(build_app(build_args(a)), name='tinysaver', route_prefix='/')
    print(f'Serving {a.config} ({", ".join(plan["stages"])}) at http://{a.host}:{a.port}/ '
          '(POST images; GET /stats). Ctrl-C stops.', flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        t0 = time.time()
        while not stop and (a.duration is None or time.time() - t0 < a.duration):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
