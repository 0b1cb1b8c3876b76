"""Wall-clock speed of a cascade vs base alone, measured vs MACs-predicted.

Example:
    python tools/benchmark.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
"""
import argparse

from tinysaver_mm.apis.benchmark import goal_report, run_benchmark


def main():
    p = argparse.ArgumentParser(description='Benchmark a TinySaver cascade')
    p.add_argument('config', help='TinySaverClassifier config')
    p.add_argument('checkpoint', nargs='?', default=None, help='whole-cascade weights')
    p.add_argument('--pair', help='row label (default: config name)')
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32, 256])
    p.add_argument('--exit-ratios', type=float, nargs='+',
                   default=[0, 0.25, 0.5, 0.75, 0.9, 1.0])
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--random-weights', action='store_true',
                   help="ignore the stages' checkpoints (speed does not depend on them)")
    p.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                   help='random uint8 images of this shape instead of the test set')
    p.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    p.add_argument('--out', help='CSV (default results/benchmark_<device>.csv)')
    p.add_argument('--fuse-conv-bn', action='store_true',
                   help='fold BatchNorm into the convs of both models before timing')
    a = p.parse_args()
    rows = run_benchmark(a.config, a.checkpoint, a.pair, a.batch_sizes, a.exit_ratios,
                         a.warmup, a.repeats, a.random_weights, a.input_shape, a.out,
                         a.device, a.fuse_conv_bn)
    print(f'{"pair":<34}{"bs":>5}{"exit":>6}{"ms/img base":>13}{"ms/img casc":>13}'
          f'{"speedup":>9}{"MACs pred":>10}{"effic.":>8}{"stages":>8}{"overhead%":>10}')
    for r in rows:
        print(f'{r["pair"]:<34}{r["batch_size"]:>5}{r["exit_ratio"]:>6.2f}'
              f'{r["ms_per_img_base"]:>13.4f}{r["ms_per_img_cascade"]:>13.4f}'
              f'{r["speedup"]:>9.2f}{r["macs_speedup"]:>10.2f}{r["efficiency"]:>8.2f}'
              f'{r["stages_speedup"]:>8.2f}{r["routing_overhead_pct"]:>10.1f}')
    print('stages = speedup of saver + base back to back (free routing); overhead% = cascade '
          'vs that')
    print('\n'.join(['goals:'] + goal_report(rows)))
    print('written: results CSV and its .png (see --out)')


if __name__ == '__main__':
    main()
