"""Wall-clock speed of a cascade vs base alone, measured vs MACs-predicted.

One sub-command per way of timing:
    forced-ratio   the cascade at forced exit ratios vs base alone and its stages back to back
    at-thresholds  the cascade at its own thresholds on real test images (any cascade, ESN too)
    stages         plain models alone (e.g. saver candidates), into the per-stage latency table
    end-to-end     images/s of tools/test.py's loop (data loading and metrics included)
    pytorch-options  each stage under PyTorch's CPU options (fuse-conv-bn, channels-last, compile)
    summary        the table and goal report of an existing forced-ratio CSV

Example:
    python tools/benchmark.py forced-ratio \
        configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
    python tools/benchmark.py forced-ratio \
        configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        --backend onnxruntime --device cpu     # exports these weights to a temporary folder
    python tools/benchmark.py stages configs/fashion_mnist/resnet18-w*_fmnist.py \
        --backend onnxruntime
    python tools/benchmark.py at-thresholds \
        configs/fashion_mnist/tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py --batch-sizes 32
    python tools/benchmark.py end-to-end CONFIG --repeats 3
    python tools/benchmark.py pytorch-options CONFIG
    python tools/benchmark.py summary results/benchmark_cpu.csv
"""
import argparse

from mmengine.config import Config, DictAction

from tinysaver_mm.apis import (benchmark_stages, end_to_end_throughput, goal_report,
                               markdown_table, pytorch_options_study, read_rows, run_benchmark,
                               run_operating_point)


def _parsers() -> argparse.ArgumentParser:
    timing = argparse.ArgumentParser(add_help=False)
    timing.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32, 256])
    timing.add_argument('--warmup', type=int, default=2, help='untimed rounds')
    timing.add_argument('--repeats', type=int, default=5, help='timed rounds')
    cascade = argparse.ArgumentParser(add_help=False)
    cascade.add_argument('config', help='a cascade config')
    p = argparse.ArgumentParser(description='Benchmark a TinySaver cascade')
    sub = p.add_subparsers(dest='mode', required=True, metavar='MODE')

    f = sub.add_parser('forced-ratio', parents=[cascade, timing],
                       help='the cascade at forced exit ratios (TinySaverClassifier)')
    f.add_argument('checkpoint', nargs='?', default=None, help='whole-cascade weights')
    f.add_argument('--pair', help='row label (default: config name)')
    f.add_argument('--exit-ratios', type=float, nargs='+', default=[0, 0.25, 0.5, 0.75, 0.9, 1.0])
    f.add_argument('--random-weights', action='store_true',
                   help="ignore the stages' checkpoints (speed does not depend on them)")
    f.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                   help='random uint8 images of this shape instead of the test set')
    f.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    f.add_argument('--out', help='CSV (default results/benchmark_<device>.csv)')
    f.add_argument('--backend', default='pytorch', choices=['pytorch', 'onnxruntime'],
                   help='how the stages run (onnxruntime: CPU; exports them unless '
                   '--deploy-dir names a tools/deploy.py folder)')
    f.add_argument('--deploy-dir', help='a tools/deploy.py folder of this cascade')
    f.add_argument('--stage-latency-out',
                   help='per-stage latency CSV (default results/stage_latency_<device>.csv)')
    f.add_argument('--fuse-conv-bn', action='store_true',
                   help='fold BatchNorm into the convs of both models before timing')

    t = sub.add_parser('at-thresholds', parents=[cascade, timing],
                       help='the cascade at its own thresholds (any classification cascade)')
    t.add_argument('checkpoint', nargs='?', default=None, help='whole-cascade weights')
    t.add_argument('--pair', help='row label (default: config name)')
    t.add_argument('--num-images', type=int, default=1024, help='first test images timed')
    t.add_argument('--out', default='results/operating_point_cpu.csv')
    t.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides, e.g. model.threshold=[...]')

    s = sub.add_parser('stages', parents=[timing],
                       help='plain model configs alone (random weights), in alternation')
    s.add_argument('configs', nargs='+', metavar='CONFIG')
    s.add_argument('--backend', default='pytorch', choices=['pytorch', 'onnxruntime'])
    s.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                   help='random uint8 images of this shape instead of the test set')
    s.add_argument('--out', default='results/stage_latency_cpu.csv',
                   help='per-stage latency CSV (merged)')

    e = sub.add_parser('end-to-end', parents=[cascade],
                       help="images/s of the Runner's test loop, base alone and cascade, "
                       'on both backends')
    e.add_argument('--repeats', type=int, default=5, help='rounds')
    e.add_argument('--out', default='results/end_to_end_cpu.csv')

    o = sub.add_parser('pytorch-options', parents=[cascade, timing],
                       help="each stage under PyTorch's CPU options vs eager, in alternation")
    o.add_argument('--out', default='results/pytorch_options_cpu.csv')

    m = sub.add_parser('summary', help='the table and goal report of a forced-ratio CSV')
    m.add_argument('csv', metavar='CSV')
    return p


def _print_forced(rows, written: bool) -> None:
    print(markdown_table(rows))
    print('stages back to back = speedup of saver + base run back to back, the base on the '
          'images the cascade sends it (free routing); routing overhead = cascade vs that')
    print('\n'.join(['goals:'] + goal_report(rows)))
    if written:
        print('written: results CSV and its .png (see --out), per-stage latency CSV '
              '(see --stage-latency-out)')


def main():
    p = _parsers()
    a = p.parse_args()
    if a.mode == 'forced-ratio':
        if Config.fromfile(a.config).model.get('type') == 'TinySaverESN':
            p.error('a TinySaverESN has one threshold per exit: time it at its own thresholds '
                    '(tools/benchmark.py at-thresholds CONFIG)')
        rows = run_benchmark(
            a.config, checkpoint=a.checkpoint, pair=a.pair, batch_sizes=a.batch_sizes,
            exit_ratios=a.exit_ratios, warmup=a.warmup, repeats=a.repeats,
            random_weights=a.random_weights, input_shape=a.input_shape, out=a.out,
            device=a.device, fuse_conv_bn=a.fuse_conv_bn, backend=a.backend,
            deploy_dir=a.deploy_dir, stage_latency_out=a.stage_latency_out)
        _print_forced(rows, written=True)
    elif a.mode == 'summary':
        _print_forced(read_rows(a.csv), written=False)
    elif a.mode == 'at-thresholds':
        print(f'timing {a.config} at its own thresholds on its first {a.num_images} test images')
        rows = run_operating_point(a.config, checkpoint=a.checkpoint, pair=a.pair,
                                   batch_sizes=a.batch_sizes, num_images=a.num_images,
                                   warmup=a.warmup, repeats=a.repeats, out=a.out,
                                   cfg_options=a.cfg_options)
        print(f'{"batch":>6}{"base ms/img":>13}{"cascade ms/img":>16}{"speedup":>9}'
              f'{"MACs speedup":>14}  exit shares')
        for r in rows:
            print(f'{r["batch_size"]:>6}{r["ms_per_img_base"]:>13.4f}'
                  f'{r["ms_per_img_cascade"]:>16.4f}{r["speedup"]:>8.2f}x'
                  f'{r["macs_speedup"]:>13.2f}x  {r["exit_shares"]}')
        print(f'written: {a.out}')
    elif a.mode == 'stages':
        rows = benchmark_stages(a.configs, batch_sizes=a.batch_sizes, backend=a.backend,
                                warmup=a.warmup, repeats=a.repeats, input_shape=a.input_shape,
                                out=a.out)
        print(f'{"model":<40}{"backend":>13}{"batch":>7}{"ms/img":>10}{"GMACs":>10}')
        for r in rows:
            print(f'{r["model"]:<40}{r["backend"]:>13}{r["batch_size"]:>7}'
                  f'{r["ms_per_img"]:>10.4f}{r["gmacs"]:>10.5f}')
        print(f'written: {a.out}')
    elif a.mode == 'end-to-end':
        rows = end_to_end_throughput(a.config, repeats=a.repeats, out=a.out)
        print(f'{"backend":<13}{"model":<9}{"img/s":>9}{"top-1 %":>9}{"exit ratio":>12}')
        for r in rows:
            print(f'{r["backend"]:<13}{r["model"]:<9}{r["img_per_s"]:>9.1f}'
                  f'{r["top1_pct"]:>9.2f}{r["exit_ratio"]:>12.4f}')
        print(f'written: {a.out}')
    elif a.mode == 'pytorch-options':
        rows = pytorch_options_study(a.config, batch_sizes=a.batch_sizes, warmup=a.warmup,
                                     repeats=a.repeats, out=a.out)
        print(f'{"stage":<7}{"option":<15}{"batch":>6}{"ms/img":>9}{"vs eager":>10}'
              f'{"max |dp|":>10}{"setup s":>9}')
        for r in rows:
            print(f'{r["stage"]:<7}{r["option"]:<15}{r["batch_size"]:>6}{r["ms_per_img"]:>9.4f}'
                  f'{r["speedup_vs_eager"]:>9.2f}x{r["max_abs_diff"]:>10.2g}'
                  f'{r["setup_s"]:>9.1f}')
        print(f'written: {a.out}')


if __name__ == '__main__':
    main()
