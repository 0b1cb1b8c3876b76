"""Closed-loop load test of a served classification cascade (local Ray, loopback only).

Example (the demo cascade on real Fashion-MNIST test images):
    python tools/serve_bench.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        --clients 1 4 16 64 128 --requests 600 --max-seconds 45

Writes results/serving_cpu.csv (rows of other pairs/clients/transports kept) and a PNG beside it:
img/s vs clients and latency per transport. Goals reported at the end. Timings depend on what
else runs on the machine: the load average is in every row.
"""
import argparse
import os.path as osp
import sys

from tinysaver_mm.serving import bench_goals, serve_bench


def main():
    p = argparse.ArgumentParser(description='Closed-loop load test of a served cascade')
    p.add_argument('config', help='2-stage classification cascade config')
    p.add_argument('--pair', help='row label (default: the config name)')
    p.add_argument('--clients', type=int, nargs='+', default=[1, 4, 16, 64])
    p.add_argument('--transports', nargs='+', choices=['http', 'handle'],
                   default=['http', 'handle'])
    p.add_argument('--requests', type=int, default=600, help='requests per row (bound)')
    p.add_argument('--max-seconds', type=float, default=60.0, help='seconds per row (bound)')
    p.add_argument('--images', type=int, default=1000, help='test images cycled through')
    p.add_argument('--max-batch-size', type=int, default=16)
    p.add_argument('--batch-wait-timeout-s', type=float, default=0.005)
    p.add_argument('--num-cpus', type=int, default=2, help="the local Ray's CPUs")
    p.add_argument('--out', default='results/serving_cpu.csv')
    a = p.parse_args()
    rows = serve_bench(a.config, a.pair, a.clients, a.transports, a.requests, a.max_seconds,
                       a.images, a.max_batch_size, a.batch_wait_timeout_s, a.num_cpus, a.out,
                       log=lambda line: print(line, flush=True))
    print(f'wrote {a.out} and {osp.splitext(a.out)[0]}.png\nGoals:')
    for line in bench_goals(rows, a.max_batch_size):
        print(f'- {line}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
