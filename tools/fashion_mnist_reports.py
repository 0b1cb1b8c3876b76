"""Issue-3 reports on Fashion-MNIST from records (see tools/fashion_mnist_reports.sh).

Writes results/calibration_fashion_mnist.json, results/selection_fashion_mnist.csv
(+ .png, and .json with the Spearman correlation) and results/multistage_fashion_mnist.json.
"""
import argparse
import json
import os.path as osp

from tinysaver_mm.apis import check_outputs, guarantee_report, multistage_report, select_saver

SAVER, MID, BASE = 'resnet18-w4s2', 'resnet18-w8', 'resnet18-w16'
CANDIDATES = ['resnet18-w2s2', 'resnet18-w4s2', 'resnet18-w4', 'resnet18-w8']
SELECTION_JSON = 'results/selection_fashion_mnist.json'


def main():
    p = argparse.ArgumentParser(description='Fashion-MNIST calibration/selection reports')
    p.add_argument('--records', default='records/fashion_mnist')
    p.add_argument('--epsilon', type=float, default=0.005)
    p.add_argument('--delta', type=float, default=0.1)
    p.add_argument('--max-drop', type=float, default=0.005,
                   help='drop target for selection and the 3-stage comparison')
    p.add_argument('--overwrite', action='store_true', help='replace the results files')
    a = p.parse_args()
    check_outputs([SELECTION_JSON], a.overwrite)
    rec = lambda m, split: osp.join(a.records, f'{m}_fmnist_{split}.npz')  # noqa: E731
    cal = guarantee_report(rec(SAVER, 'holdout'), rec(BASE, 'holdout'), rec(SAVER, 'test'),
                           rec(BASE, 'test'), a.epsilon, a.delta,
                           overwrite=a.overwrite)
    print('calibration (guarantee mode):', json.dumps(cal))
    sel = select_saver(rec(BASE, 'train_aug'), [rec(m, 'train_aug') for m in CANDIDATES],
                       rec(BASE, 'test'), [rec(m, 'test') for m in CANDIDATES],
                       max_drop=a.max_drop, out='results/selection_fashion_mnist.csv',
                       overwrite=a.overwrite)
    for row in sel['rows']:
        print('selection:', row)
    print(f'Spearman rho(delta_ctr, test MACs saved) = {sel["spearman_rho"]}')
    with open(SELECTION_JSON, 'w') as f:
        json.dump(dict(spearman_rho=sel['spearman_rho'], spearman_p=sel['spearman_p'],
                       max_drop=a.max_drop, candidates=len(sel['rows'])), f, indent=2)
    ms = multistage_report({'saver': rec(SAVER, 'holdout'), 'mid': rec(MID, 'holdout'),
                            'base': rec(BASE, 'holdout')},
                           {'saver': rec(SAVER, 'test'), 'mid': rec(MID, 'test'),
                            'base': rec(BASE, 'test')}, max_drop=a.max_drop,
                           overwrite=a.overwrite)
    print('multi-stage:', json.dumps(ms))


if __name__ == '__main__':
    main()
