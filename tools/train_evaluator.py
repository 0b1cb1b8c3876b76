"""Train the evaluator head of a detection or segmentation cascade and calibrate it.

The records say which: detection records train a ``TinySaverEvaluatorHead``
(box-mAP drop), segmentation records a ``TinySaverSegEvaluatorHead``
(dataset-level mIoU drop), a classification saver's records (with ``--base``
and the base's records of the same images) a ``TinySaverClsEvaluatorHead``
(top-1 drop), compared with the simple rules on ``--test`` records.

Example (classification):
    python tools/train_evaluator.py SAVER_val.npz --base BASE_val.npz \
        --test SAVER_test.npz BASE_test.npz --out ev.pth --max-drop 0.001

Example:
    python tools/record.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py \
        --split holdout
    python tools/train_evaluator.py \
        records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_holdout_det.npz \
        --out checkpoints/fmnist_det/evaluator_rtmdet-w125_96px_fmnist-det.pth --max-drop 0.01
"""
import argparse

from tinysaver_mm.apis import (records_kind, train_cls_evaluator, train_evaluator,
                               train_seg_evaluator)


def main():
    p = argparse.ArgumentParser(description='Train a cascade evaluator head from records')
    p.add_argument('records', help='detection or segmentation records (tools/record.py on '
                   'a cascade config)')
    p.add_argument('--out', required=True, help='evaluator checkpoint to write')
    p.add_argument('--max-drop', type=float, default=0.01,
                   help='allowed box-mAP / mIoU drop as a fraction (0.01 = 1 point)')
    p.add_argument('--calib-fraction', type=float, default=0.5,
                   help='share of the records kept to calibrate thresholds')
    p.add_argument('--tolerance', type=float,
                   help='per-image AP (detection, default 0.1) or IoU (segmentation, '
                   'default 0.02) the saver may lose and still count as good')
    p.add_argument('--base', help="classification: the base's records of the same images")
    p.add_argument('--test', nargs=2, metavar=('SAVER', 'BASE'),
                   help='classification: test records of both, to compare the policies on')
    p.add_argument('--features', action='store_true',
                   help="detection: also read the saver's pooled neck features")
    p.add_argument('--hidden', type=int, default=32, help='hidden width of the head')
    p.add_argument('--target', choices=['binary', 'oric', 'auto'], default='binary',
                   help="detection: the head's training target ('auto': both, the one saving "
                   'more MACs on the calibration half kept)')
    p.add_argument('--head', choices=['mlp', 'set'], default='mlp',
                   help="detection: image-level features (mlp) or a set encoder over the "
                   "saver's boxes (set)")
    p.add_argument('--extra-records', help='detection: more records fitting the head (e.g. '
                   'the training split, tools/record_det_views.py --split train --flip random)')
    p.add_argument('--oric-context', type=int, default=99, help='ORIC context size')
    p.add_argument('--oric-draws', type=int, default=2, help='ORIC context draws per image')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--results', help='also write the summary (JSON)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace --out / --results (and its .png) when they exist')
    a = p.parse_args()
    common = dict(hidden=a.hidden, steps=a.steps, weight_decay=a.weight_decay, seed=a.seed,
                  results=a.results, overwrite=a.overwrite)
    kind = records_kind(a.records)
    if kind == 'classification':
        if not a.base:
            p.error("classification records need --base (the base's records)")
        s = train_cls_evaluator(a.records, a.base, a.out, a.max_drop, a.calib_fraction,
                                saver_test=a.test[0] if a.test else None,
                                base_test=a.test[1] if a.test else None, **common)
        print(f"fit on {s['num_fit']} images, calibrated on {s['num_calib']}")
        print(f"{'policy':<10} {'auc':>6} {'threshold':>10} {'test exit':>10} "
              f"{'test drop':>10} {'test saved%':>12}")
        for name, row in s['policies'].items():
            t = row.get('test', row['calib'])
            print(f"{name:<10} {s['auc_calib'][name]:6.3f} {row['threshold']:10.4f} "
                  f"{t['exit_ratio']:10.3f} {t['top1_drop_pts']:10.3f} "
                  f"{t['macs_saved_pct']:12.1f}")
        print(f"written: {s['checkpoint']}")
        return
    if kind == 'segmentation':
        if a.features:
            p.error('--features is for detection records')
        if (a.target, a.head, a.extra_records) != ('binary', 'mlp', None):
            p.error('--target/--head/--extra-records are for detection records')
        s = train_seg_evaluator(a.records, a.out, a.max_drop, a.calib_fraction,
                                0.02 if a.tolerance is None else a.tolerance, **common)
        metric, label = 'miou', 'mIoU'
    else:
        s = train_evaluator(a.records, a.out, a.max_drop, a.calib_fraction, a.features,
                            0.1 if a.tolerance is None else a.tolerance, target=a.target,
                            head_type=a.head, extra_records=a.extra_records,
                            oric_context=a.oric_context, oric_draws=a.oric_draws, **common)
        choice = s.get('target_choice')
        print(f"target: {s['exit_target']}" + (
            f" (calibration-half MACs saved per target: {choice['calib_macs_saved_pct']})"
            if choice else '') + f"; head config: {s['head_cfg']}")
        metric, label = 'map', 'mAP'
    print(f"fit on {s['num_fit']} images, calibrated on {s['num_calib']}; "
          f"saver {label} {s[f'saver_{metric}_calib']:.4f}, base {label} "
          f"{s[f'base_{metric}_calib']:.4f} (calibration images)")
    print(f"{'policy':<16} {'auc':>6} {'threshold':>10} {'exit':>6} {label:>7} {'saved%':>7}")
    for name, row in s['policies'].items():
        print(f"{name:<16} {s['auc_calib'][name]:6.3f} {row['threshold']:10.4f} "
              f"{row['exit_ratio']:6.3f} {row[metric]:7.4f} {row['macs_saved_pct']:7.1f}")
    print(f"written: {s['checkpoint']}")
    print(f"use: --cfg-options model.threshold={s['policies']['evaluator']['threshold']}")


if __name__ == '__main__':
    main()
