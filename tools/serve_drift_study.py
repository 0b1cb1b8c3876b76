"""False alarms and detection delays of the serving drift test (CUSUM on the exit stream).

Reads the demo cascade's records on the clean test split and each corruption
(``bash tools/serve_drift_study.sh`` makes them) and writes
results/drift_cusum_fashion_mnist.json (see tinysaver_mm.apis.studies.cusum_study).

Example:
    python tools/serve_drift_study.py --calibration results/calibration_shift_fashion_mnist.json \
        --records records/shift
"""
import argparse
import glob
import os.path as osp

from tinysaver_mm.apis import cusum_study

SETS = ('clean', 'noise', 'blur', 'contrast', 'brightness', 'rotation', 'shift', 'inversion')


def main():
    p = argparse.ArgumentParser(description='Simulate the CUSUM drift test on records')
    p.add_argument('--calibration', required=True, help='calibration JSON with a drift entry')
    p.add_argument('--records', required=True, help='folder with one sub-folder per set')
    p.add_argument('--sets', nargs='+', default=list(SETS))
    p.add_argument('--shares', nargs='+', type=float, default=[1.0, 0.1, 0.05])
    p.add_argument('--shift', type=float, default=0.05)
    p.add_argument('--false-alarms-per-10k', type=float, default=0.1)
    p.add_argument('--streams', type=int, default=20)
    p.add_argument('--out', default='results/drift_cusum_fashion_mnist.json')
    p.add_argument('--overwrite', action='store_true')
    a = p.parse_args()
    sets = {}
    for name in a.sets:
        saver = sorted(glob.glob(osp.join(a.records, name, '*_test_saver.npz')))
        base = sorted(glob.glob(osp.join(a.records, name, '*_test_base.npz')))
        if len(saver) != 1 or len(base) != 1:
            p.error(f'{osp.join(a.records, name)} must hold one *_test_saver.npz and one '
                    f'*_test_base.npz (found {saver + base}); run tools/serve_drift_study.sh.')
        sets[name] = (saver[0], base[0])
    res = cusum_study(a.calibration, sets, a.shares, a.shift, a.false_alarms_per_10k,
                      streams=a.streams, out=a.out, overwrite=a.overwrite)
    print(f'CUSUM (shift {a.shift}, design {a.false_alarms_per_10k} false alarms / 10k): '
          f'{res["clean_false_alarms_per_10k"]:.3f} false alarms per 10,000 clean requests '
          f'({res["clean_false_alarms"]} in {res["clean_images"]}; clean test exit ratio '
          f'{res["clean_test_exit_ratio"]:.4f} vs calibrated {res["calibrated_exit_ratio"]})')
    print(f'{"corruption":<11} {"share":>5} {"exit":>6} | {"CUSUM det%":>10} {"median":>7} '
          f'{"p90":>7} {"early%":>6} | {"checkpt det%":>12} {"median":>7} {"p90":>7}')
    fmt = lambda v: '-' if v is None else f'{v:.0f}'
    for r in res['rows']:
        c, k = r['cusum'], r['checkpoints']
        print(f'{r["corruption"]:<11} {r["shifted_share"]:>5.2f} {r["exit_ratio_after"]:>6.3f} | '
              f'{c["detected_pct"]:>10.0f} {fmt(c["median_delay"]):>7} {fmt(c["p90_delay"]):>7} '
              f'{c["alarm_before_change_pct"]:>6.0f} | '
              f'{k["detected_pct"]:>12.0f} {fmt(k["median_delay"]):>7} {fmt(k["p90_delay"]):>7}')
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
