"""Choose a cascade's threshold(s) from records, for a stated target.

Two records (saver, base): one threshold. Three or more (a k-stage cascade's
stages, or every routing step of a TinySaverESN, in order): one threshold per
exit but the last (targets drop, guarantee, gmacs).

Examples:
    python tools/calibrate.py SAVER.npz BASE.npz --target drop --epsilon 0.001
    python tools/calibrate.py SAVER.npz BASE.npz --target guarantee --epsilon 0.005 --delta 0.1
    python tools/calibrate.py SAVER.npz BASE.npz --target exit --exit-ratio 0.6
    python tools/calibrate.py SAVER.npz BASE.npz --target gmacs --max-gmacs 0.01
    python tools/calibrate.py SAVER.npz BASE.npz --target latency --max-ms-per-img 0.1 \
        --latency-table results/stage_latency_cpu.csv --batch-size 32 --backend onnxruntime
    python tools/calibrate.py records/ESN_holdout_{saver,exit1,exit2,exit3,base}.npz \
        --target drop --epsilon 0.001
"""
import argparse
import sys

from tinysaver_mm.apis import (TARGETS, CostModel, calibrate, calibrate_exits,
                                 format_drop_interval, records_drop_interval)


def print_exits(r: dict) -> None:
    """The multi-exit result as a table."""
    print(f'target {r["target"]} on {r["num_samples"]} {r["records"]} records')
    print(f'{"exit":<10}{"threshold":>10}{"share":>8}{"top-1 %":>9}{"adds GMACs":>12}')
    for i, name in enumerate(r['exits']):
        t = r['thresholds'][i] if i < len(r['thresholds']) else None
        shown = '' if t is None else 'off' if t > 1 else f'{t:.4g}'
        print(f'{name:<10}{shown:>10}{r["shares"][name]:>8.4f}{r["exit_top1"][name]:>9.2f}'
              f'{r["gmacs_exits"][name]:>12.5f}')
    print(f'{"cascade":<10}{"":>10}{"":>8}{r["top1"]:>9.2f}{r["gmacs_cascade"]:>12.5f}  '
          f'MACs saved {r["macs_saved_pct"]:.1f}% of the base alone '
          f'({r["gmacs_base_alone"]:.5f} GMACs)')
    if r['drop_ucb'] is not None:
        print(f'guarantee: drop <= {r["epsilon"]} with prob >= {1 - r["delta"]:.3f} '
              f'(upper bound at the chosen lambda: {r["drop_ucb"]:.5f})')
    print(f'use it: python tools/test.py CONFIG {r["cfg_options"]}')


def print_drop(records, thresholds, rule: str, reference: str) -> None:
    """The drop on these records at the chosen threshold(s), with its 95 % interval."""
    d = records_drop_interval(records, thresholds, rule)
    print(f'on these records, {format_drop_interval(d, reference)}')


def main():
    p = argparse.ArgumentParser(description='Calibrate a TinySaver threshold')
    p.add_argument('records', nargs='+', metavar='RECORDS',
                   help='records (.npz from tools/record.py) of the same samples: saver and '
                   'base, or every exit of a cascade in order (3 or more)')
    p.add_argument('--target', choices=TARGETS, required=True)
    p.add_argument('--epsilon', type=float, help='max top-1 drop (fraction, 0.001 = 0.1 pt)')
    p.add_argument('--delta', type=float, help='failure probability of the guarantee')
    p.add_argument('--exit-ratio', type=float, help='min share of exits')
    p.add_argument('--max-gmacs', type=float, help='max cascade GMACs per image')
    p.add_argument('--max-ms-per-img', type=float,
                   help='max cascade milliseconds per image (--target latency)')
    p.add_argument('--latency-table', help='per-stage latency CSV of tools/benchmark.py '
                   '(needed by --target latency; with any target: also report ms/img)')
    p.add_argument('--batch-size', type=int, default=32, help='deployment batch size (latency)')
    p.add_argument('--backend', default='pytorch', choices=['pytorch', 'onnxruntime'],
                   help='whose measured times count (latency)')
    p.add_argument('--device', default='cpu', help='whose measured times count (latency)')
    p.add_argument('--rule', default='max_prob')
    p.add_argument('--out', default='results/calibration.json')
    p.add_argument('--overwrite', action='store_true',
                   help='replace --out (and its _curve.csv/.png) when they exist')
    p.add_argument('--grid', type=int, default=101,
                   help='candidate thresholds per exit (3 or more records)')
    a = p.parse_args()
    if len(a.records) < 2:
        p.error('give at least two record files (saver and base)')
    if len(a.records) > 2:
        try:
            r = calibrate_exits(a.records, target=a.target, epsilon=a.epsilon, delta=a.delta,
                                max_gmacs=a.max_gmacs, rule=a.rule, out=a.out,
                                overwrite=a.overwrite, grid=a.grid)
        except ValueError as e:
            sys.exit(f'calibrate: {e}')
        print_exits(r)
        print_drop(a.records, r['thresholds'], a.rule, 'the last exit')
        print(f'written: {a.out} (+ _path.csv, .png)')
        return
    try:
        cost = CostModel('latency' if a.target == 'latency' and a.latency_table else 'macs',
                         a.latency_table, a.batch_size, a.backend, a.device)
        r = calibrate(*a.records, target=a.target, epsilon=a.epsilon, delta=a.delta,
                      exit_ratio=a.exit_ratio, max_gmacs=a.max_gmacs, rule=a.rule, out=a.out,
                      overwrite=a.overwrite, max_ms_per_img=a.max_ms_per_img, cost=cost)
    except ValueError as e:  # bad input, or a fact about the records (InfeasibleTargetError)
        sys.exit(f'calibrate: {e}')
    print(f'target {r["target"]} on {r["num_samples"]} {r["records"]} records')
    print(f'{"":<10}{"top-1 %":>9}{"GMACs/img":>12}')
    for name in ('saver', 'base'):
        print(f'{name:<10}{r[name + "_top1"]:>9.2f}{r["gmacs_" + name]:>12.5f}')
    print(f'{"cascade":<10}{r["top1"]:>9.2f}{r["gmacs_cascade"]:>12.5f}  '
          f'threshold {r["threshold"]:.6g}, exit ratio {r["exit_ratio"]:.4f}, '
          f'MACs saved {r["macs_saved_pct"]:.1f}%')
    if 'ms_per_img_cascade' in r:
        print(f'latency at batch {r["latency_batch_size"]} [{r["latency_backend"]}, '
              f'{r["latency_device"]}]: saver {r["ms_per_img_saver"]:.4g}, base '
              f'{r["ms_per_img_base"]:.4g}, cascade {r["ms_per_img_cascade"]:.4g} ms/img')
    if r['drop_ucb'] is not None:
        print(f'guarantee: drop <= {r["epsilon"]} with prob >= {1 - r["delta"]:.3f} '
              f'(upper bound at the threshold: {r["drop_ucb"]:.5f})')
    print_drop(a.records, [r['threshold']], a.rule, 'the base')
    print(f'use it: python tools/test.py CONFIG {r["cfg_options"]}')
    print(f'written: {a.out} (+ _curve.csv, .png)')


if __name__ == '__main__':
    main()
