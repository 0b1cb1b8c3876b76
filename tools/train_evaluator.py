"""Train the evaluator head of a detection cascade and calibrate its threshold.

Example:
    python tools/record.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py \
        --split holdout
    python tools/train_evaluator.py \
        records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_holdout_det.npz \
        --out checkpoints/fmnist_det/evaluator_rtmdet-w125_96px_fmnist-det.pth --max-drop 0.01
"""
import argparse

from tinysaver_mm.apis import train_evaluator


def main():
    p = argparse.ArgumentParser(description='Train a TinySaverEvaluatorHead from records')
    p.add_argument('records', help='detection records (tools/record.py on a cascade config)')
    p.add_argument('--out', required=True, help='evaluator checkpoint to write')
    p.add_argument('--max-drop', type=float, default=0.01,
                   help='allowed box-mAP drop as a fraction (0.01 = 1 point)')
    p.add_argument('--calib-fraction', type=float, default=0.5,
                   help='share of the records kept to calibrate thresholds')
    p.add_argument('--tolerance', type=float, default=0.1,
                   help='per-image AP the saver may lose and still count as good')
    p.add_argument('--features', action='store_true',
                   help="also read the saver's pooled neck features")
    p.add_argument('--hidden', type=int, default=32, help='hidden width of the head')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--results', help='also write the summary (JSON)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace --out / --results (and its .png) when they exist')
    a = p.parse_args()
    s = train_evaluator(a.records, a.out, a.max_drop, a.calib_fraction, a.features,
                        a.tolerance, hidden=a.hidden, steps=a.steps,
                        weight_decay=a.weight_decay, seed=a.seed, results=a.results,
                        overwrite=a.overwrite)
    print(f"fit on {s['num_fit']} images, calibrated on {s['num_calib']}; "
          f"saver mAP {s['saver_map_calib']:.4f}, base mAP {s['base_map_calib']:.4f} "
          f'(calibration images)')
    print(f"{'policy':<10} {'auc':>6} {'threshold':>10} {'exit':>6} {'mAP':>7} {'saved%':>7}")
    for name, row in s['policies'].items():
        print(f"{name:<10} {s['auc_calib'][name]:6.3f} {row['threshold']:10.4f} "
              f"{row['exit_ratio']:6.3f} {row['map']:7.4f} {row['macs_saved_pct']:7.1f}")
    print(f"written: {s['checkpoint']}")
    print(f"use: --cfg-options model.threshold={s['policies']['evaluator']['threshold']}")


if __name__ == '__main__':
    main()
