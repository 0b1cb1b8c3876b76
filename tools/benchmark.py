"""Wall-clock speed of a cascade vs base alone, measured vs MACs-predicted.

Example:
    python tools/benchmark.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
    python tools/benchmark.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        --backend onnxruntime --device cpu     # exports these weights to a temporary folder
    python tools/benchmark.py --stages configs/fashion_mnist/resnet18-w*_fmnist.py \
        --backend onnxruntime          # per-stage latency of plain models (saver candidates)
    python tools/benchmark.py CONFIG --end-to-end --repeats 3   # img/s of tools/test.py's loop
    python tools/benchmark.py CONFIG --pytorch-options   # fuse-conv-bn, channels-last, compile
    python tools/benchmark.py --summary results/benchmark_cpu.csv   # table + goals of a CSV
    python tools/benchmark.py configs/fashion_mnist/tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py \
        --batch-sizes 32     # an ESN (or --at-thresholds): at its own thresholds, real test images
"""
import argparse

from mmengine.config import Config, DictAction

from tinysaver_mm.apis.benchmark import end_to_end_throughput
from tinysaver_mm.apis.benchmark import run_operating_point
from tinysaver_mm.apis.benchmark import pytorch_options_study
from tinysaver_mm.apis.benchmark import (benchmark_stages, goal_report, markdown_table, read_rows,
                                         run_benchmark)


def main():
    p = argparse.ArgumentParser(description='Benchmark a TinySaver cascade')
    p.add_argument('config', nargs='?', help='TinySaverClassifier (or TinySaverESN) config')
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
    p.add_argument('--backend', default='pytorch', choices=['pytorch', 'onnxruntime'],
                   help='how the stages run (onnxruntime: CPU; exports them unless '
                   '--deploy-dir names a tools/deploy.py folder)')
    p.add_argument('--deploy-dir', help='a tools/deploy.py folder of this cascade')
    p.add_argument('--stage-latency-out',
                   help='per-stage latency CSV (default results/stage_latency_<device>.csv)')
    p.add_argument('--fuse-conv-bn', action='store_true',
                   help='fold BatchNorm into the convs of both models before timing')
    p.add_argument('--stages', nargs='+', metavar='CONFIG',
                   help='instead: per-stage latency of these plain model configs (random '
                   'weights), timed in alternation, into --stage-latency-out')
    p.add_argument('--end-to-end', action='store_true',
                   help="instead: images/s of the Runner's test loop (tools/test.py: data "
                   'loading and metrics included) for the base alone and the cascade, on '
                   'both backends, into --out (default results/end_to_end_cpu.csv)')
    p.add_argument('--pytorch-options', action='store_true',
                   help="instead: each stage under PyTorch's CPU options (fuse_conv_bn, "
                   'channels_last, compile) vs eager, in alternation, into --out (default '
                   'results/pytorch_options_cpu.csv)')
    p.add_argument('--summary', metavar='CSV',
                   help='only print the table and goal report of an existing CSV')
    p.add_argument('--at-thresholds', action='store_true',
                   help='time the cascade at its own thresholds on the first --num-images '
                   'test images (no forced exit ratio); always so for a TinySaverESN')
    p.add_argument('--num-images', type=int, default=1024, help='images for --at-thresholds')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides for --at-thresholds, e.g. model.threshold=[...]')
    a = p.parse_args()
    esn = bool(a.config) and Config.fromfile(a.config).model.get('type') == 'TinySaverESN'
    if a.cfg_options and not (a.at_thresholds or esn):
        p.error('--cfg-options is read by --at-thresholds only (the forced-ratio benchmark '
                'sets its own thresholds)')
    if a.at_thresholds or esn:
        if esn and not a.at_thresholds:
            print('a TinySaverESN has one threshold per exit: timing it at its own thresholds '
                  '(--at-thresholds)')
        out = a.out or 'results/operating_point_cpu.csv'
        rows = run_operating_point(a.config, a.checkpoint, a.pair, a.batch_sizes, a.num_images,
                                   a.warmup, a.repeats, out, a.cfg_options)
        print(f'{"batch":>6}{"base ms/img":>13}{"cascade ms/img":>16}{"speedup":>9}'
              f'{"MACs speedup":>14}  exit shares')
        for r in rows:
            print(f'{r["batch_size"]:>6}{r["ms_per_img_base"]:>13.4f}{r["ms_per_img_cascade"]:>16.4f}'
                  f'{r["speedup"]:>8.2f}x{r["macs_speedup"]:>13.2f}x  {r["exit_shares"]}')
        print(f'written: {out}')
        return
    if a.stages:
        rows = benchmark_stages(a.stages, a.batch_sizes, a.backend, a.warmup, a.repeats,
                                a.input_shape, a.stage_latency_out or 'results/stage_latency_cpu.csv')
        print(f'{"model":<40}{"backend":>13}{"batch":>7}{"ms/img":>10}{"GMACs":>10}')
        for r in rows:
            print(f'{r["model"]:<40}{r["backend"]:>13}{r["batch_size"]:>7}{r["ms_per_img"]:>10.4f}'
                  f'{r["gmacs"]:>10.5f}')
        return
    if a.end_to_end:
        if not a.config:
            p.error('--end-to-end needs a cascade CONFIG')
        out = a.out or 'results/end_to_end_cpu.csv'
        rows = end_to_end_throughput(a.config, repeats=a.repeats, out=out)
        print(f'{"backend":<13}{"model":<9}{"img/s":>9}{"top-1 %":>9}{"exit ratio":>12}')
        for r in rows:
            print(f'{r["backend"]:<13}{r["model"]:<9}{r["img_per_s"]:>9.1f}{r["top1_pct"]:>9.2f}'
                  f'{r["exit_ratio"]:>12.4f}')
        print(f'written: {out}')
        return
    if a.pytorch_options:
        if not a.config:
            p.error('--pytorch-options needs a cascade CONFIG')
        out = a.out or 'results/pytorch_options_cpu.csv'
        rows = pytorch_options_study(a.config, a.batch_sizes, warmup=a.warmup,
                                     repeats=a.repeats, out=out)
        print(f'{"stage":<7}{"option":<15}{"batch":>6}{"ms/img":>9}{"vs eager":>10}'
              f'{"max |dp|":>10}{"setup s":>9}')
        for r in rows:
            print(f'{r["stage"]:<7}{r["option"]:<15}{r["batch_size"]:>6}{r["ms_per_img"]:>9.4f}'
                  f'{r["speedup_vs_eager"]:>9.2f}x{r["max_abs_diff"]:>10.2g}{r["setup_s"]:>9.1f}')
        print(f'written: {out}')
        return
    if a.summary:
        rows = read_rows(a.summary)
    elif a.config:
        rows = run_benchmark(a.config, a.checkpoint, a.pair, a.batch_sizes, a.exit_ratios,
                             a.warmup, a.repeats, a.random_weights, a.input_shape, a.out,
                             a.device, a.fuse_conv_bn, a.backend, a.deploy_dir,
                             a.stage_latency_out)
    else:
        p.error('give a cascade CONFIG to benchmark, or --summary CSV')
    print(markdown_table(rows))
    print('stages back to back = speedup of saver + base run back to back, the base on the '
          'images the cascade sends it (free routing); routing overhead = cascade vs that')
    print('\n'.join(['goals:'] + goal_report(rows)))
    if not a.summary:
        print('written: results CSV and its .png (see --out), per-stage latency CSV '
              '(see --stage-latency-out)')


if __name__ == '__main__':
    main()
