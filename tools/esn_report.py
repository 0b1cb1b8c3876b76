"""The ESN against every other router on Fashion-MNIST, from records.

Writes results/esn_fashion_mnist.json (+ .png, _timing.csv). Regenerate with
``bash tools/esn_fashion_mnist.sh`` (records, then this).

Example:
    python tools/esn_report.py --records records/esn --overwrite
"""
import argparse
import os.path as osp

from tinysaver_mm.apis import esn_report, evaluator_exits, load_exits

CFG = 'configs/fashion_mnist'
PLAIN = f'{CFG}/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py'
EVALUATOR = 'checkpoints/fashion_mnist/evaluator_resnet18-w4s2_fmnist.pth'
ESN = 'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist'
ATTACHED = 'tinysaver-attached-exits_resnet18-w4s2_resnet18-w16_fmnist'
STEPS = ('saver', 'exit1', 'exit2', 'exit3', 'base')


def records(root: str, split: str, evaluator_fit_rows: int = 0) -> dict:
    """Each method's exits on one split (record files named as tools/record.py does)."""
    zoo = lambda m: osp.join(root, f'{m}_fmnist_{split}.npz')  # noqa: E731
    steps = lambda c: [osp.join(root, f'{c}_{split}_{s}.npz') for s in STEPS]  # noqa: E731
    saver, mid, base = zoo('resnet18-w4s2'), zoo('resnet18-w8'), zoo('resnet18-w16')
    return dict(plain=load_exits([saver, base]),
                plain_evaluator=evaluator_exits(saver, base, EVALUATOR, evaluator_fit_rows),
                three_stage=load_exits([saver, mid, base]),
                attached_exits=load_exits(steps(ATTACHED)), esn=load_exits(steps(ESN)))


def timing() -> dict:
    """Each method's config and the overrides that set its fitted thresholds."""
    evaluator = dict(type='TinySaverClsEvaluatorHead', num_classes=10, topk=5,
                     hidden_channels=32, checkpoint=EVALUATOR)
    return dict(
        plain=(PLAIN, lambda t: {'model.threshold': t[0]}),
        plain_evaluator=(PLAIN, lambda t: {'model.threshold': t[0], 'model.exit_rule':
                                           'evaluator', 'model.evaluator': evaluator}),
        three_stage=(f'{CFG}/tinysaver_3stage_resnet18-w4s2_w8_w16_fmnist.py',
                     lambda t: {'model.threshold': t}),
        attached_exits=(f'{CFG}/{ATTACHED}.py', lambda t: {'model.threshold': t}),
        esn=(f'{CFG}/{ESN}.py', lambda t: {'model.threshold': t}))


def main():
    p = argparse.ArgumentParser(description='ESN vs every router on Fashion-MNIST')
    p.add_argument('--records', default='records/esn')
    p.add_argument('--out', default='results/esn_fashion_mnist.json')
    p.add_argument('--no-timing', action='store_true', help='skip the batch-32 wall-clock')
    p.add_argument('--evaluator-fit-rows', type=int, default=2500,
                   help='holdout records the shipped evaluator head was fitted on (the first '
                   '2500 of 5000, tools/fashion_mnist_evaluator.sh); its threshold is fitted '
                   'on the rest')
    p.add_argument('--overwrite', action='store_true', help='replace the results files')
    a = p.parse_args()
    r = esn_report(records(a.records, 'holdout', a.evaluator_fit_rows),
                   records(a.records, 'test'), out=a.out,
                   timing=None if a.no_timing else timing(), overwrite=a.overwrite)
    print(f'base top-1 on test: {r["base_test_top1"]:.2f} %')
    print(f'{"method":<16}{"target":>7}{"drop pts":>10}{"MACs saved %":>14}{"ms/img b32":>12}'
          '  exit shares')
    for row in r['rows']:
        ms = '' if row['ms_per_img_b32'] is None else f'{row["ms_per_img_b32"]:.4f}'
        shares = ' '.join(f'{k}:{v:.3f}' for k, v in row['exit_shares'].items())
        print(f'{row["method"]:<16}{row["target_drop_pts"]:>7.1f}{row["test_top1_drop_pts"]:>10.2f}'
              f'{row["macs_saved_pct"]:>14.1f}{ms:>12}  {shares}')
    print('goals:', r['goals'])
    print(f'written: {a.out} (+ .png{"" if a.no_timing else ", _timing.csv"})')


if __name__ == '__main__':
    main()
