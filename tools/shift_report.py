"""Drift study report from records (run by tools/shift_fashion_mnist.sh)."""
import argparse
import os.path as osp

from tinysaver_mm.apis import drift_study

NAME = 'tinysaver_resnet18-w4s2_resnet18-w16_fmnist_test'
SETS = ('clean', 'noise', 'blur', 'contrast', 'brightness', 'rotation', 'shift', 'inversion')


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--records', default='records/shift')
    p.add_argument('--calibration', default='results/calibration_shift_fashion_mnist.json')
    p.add_argument('--level', type=float, default=0.01)
    p.add_argument('--streams', type=int, default=200)
    p.add_argument('--out', default='results/shift_fashion_mnist.json')
    p.add_argument('--overwrite', action='store_true')
    a = p.parse_args()
    sets = {s: tuple(osp.join(a.records, s, f'{NAME}_{r}.npz') for r in ('saver', 'base'))
            for s in SETS}
    r = drift_study(a.calibration, sets, a.level, a.streams, a.out, a.overwrite)
    for row in r['rows']:
        print(f'{row["corruption"]:<11} base {row["base_top1_pct"]:6.2f} cascade '
              f'{row["cascade_top1_pct"]:6.2f} exit {row["exit_ratio"]:.3f} '
              f'warning after {row["images_until_drift_warning"]}')
    print(f'clean false-alarm rate {r["clean_false_alarm_rate"]:.3f} over {r["clean_streams"]} '
          f'random orders (level {r["level"]})')


if __name__ == '__main__':
    main()
