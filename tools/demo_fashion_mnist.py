"""Main job: TinySaver cascade on Fashion-MNIST with accuracy and MACs saved.

Example:
    python tools/demo_fashion_mnist.py
"""
import argparse

from tinysaver_mm.apis import run_fashion_mnist_demo
from tinysaver_mm.apis.fashion_mnist_demo import DEFAULT_CONFIG


def main():
    parser = argparse.ArgumentParser(description='Fashion-MNIST TinySaver demo')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='cascade config')
    parser.add_argument('--max-drop', type=float, default=0.001,
                        help='allowed top-1 drop on the holdout (0.001 = 0.1 points)')
    parser.add_argument('--out', default='results/demo_fashion_mnist.json')
    parser.add_argument('--work-dir', default='work_dirs/demo_fashion_mnist')
    args = parser.parse_args()
    r = run_fashion_mnist_demo(args.config, args.max_drop, args.out, args.work_dir)
    print('\nFashion-MNIST test split (10,000 images)')
    print(f'{"model":<10}{"top-1 %":>10}{"GMACs/img":>12}')
    print(f'{"saver":<10}{r["saver_top1"]:>10.2f}{r["gmacs_saver"]:>12.5f}')
    print(f'{"base":<10}{r["base_top1"]:>10.2f}{r["gmacs_base"]:>12.5f}')
    print(f'{"cascade":<10}{r["cascade_top1"]:>10.2f}{r["gmacs_cascade"]:>12.5f}')
    print(f'threshold {r["threshold"]:.6f} (calibrated on held-out training images), '
          f'exit ratio {r["exit_ratio"]:.4f}, MACs saved {r["macs_saved_pct"]:.1f}% '
          f'vs the base, top-1 change {r["cascade_top1"] - r["base_top1"]:+.2f} points')
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()
