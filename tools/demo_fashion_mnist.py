"""Main job: TinySaver cascade on Fashion-MNIST with accuracy and MACs saved.

Calibrates the threshold on held-out training images, then measures the routed
cascade on the test split (a demo script: its logic lives here, on top of
:mod:`tinysaver_mm.apis`).

Example:
    python tools/demo_fashion_mnist.py
"""
import argparse
import json
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.runner import Runner

from tinysaver_mm.apis import (AccuracyDropCalibrator, cascade_macs_per_image, check_dataset_cfg,
                               check_outputs, confidence_scores, init_cascade, load_cfg,
                               predict_stages, run_test)

DEFAULT_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
    'fashion_mnist', 'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')


def run_fashion_mnist_demo(config: str = DEFAULT_CONFIG, max_drop: float = 0.001,
                           out: Optional[str] = 'results/demo_fashion_mnist.json',
                           work_dir: Optional[str] = None, overwrite: bool = False) -> dict:
    """Calibrate the threshold on held-out training images, then test.

    1. Run saver and base on the held-out part of the training split
       (``holdout_dataloader``) and choose the lowest threshold whose
       accuracy drop vs the base stays within ``max_drop`` there.
    2. Run the real routed cascade with that threshold through the Runner on
       the test split (``Accuracy`` + ``TinySaverMetric``).
    3. Run saver and base alone on the test split for their top-1.

    Args:
        config (str): A TinySaverClassifier config with ``holdout_dataloader``.
        max_drop (float): Allowed top-1 drop on the holdout (fraction).
        out (str, optional): Where to write the JSON results.
        work_dir (str, optional): Runner work dir (logs).
        overwrite (bool): Replace ``out`` when it exists.

    Returns:
        dict: ``saver_top1, base_top1, cascade_top1, exit_ratio, gmacs_saver,
        gmacs_base, gmacs_cascade, macs_saved_pct, threshold`` (top-1 in %).

    Raises:
        RuntimeError: If the routed run's GMACs differ from
            ``saver + (1 - exit ratio) * base``.
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    check_outputs([out], overwrite, [config])
    cfg = load_cfg(config, work_dir=work_dir)
    for split in ('holdout', 'test'):
        check_dataset_cfg(cfg, cfg[f'{split}_dataloader'].dataset, split)
    model = init_cascade(cfg)
    rule = model.exit_rule

    hold = predict_stages(model, Runner.build_dataloader(cfg.holdout_dataloader),
                          'holdout (calibration)')
    conf = confidence_scores(torch.from_numpy(hold['probs_saver']), rule).numpy()
    calib = AccuracyDropCalibrator(max_drop).fit(
        conf, hold['probs_saver'].argmax(1) == hold['labels'],
        hold['probs_base'].argmax(1) == hold['labels'])

    test = predict_stages(model, Runner.build_dataloader(cfg.test_dataloader),
                          'test (saver and base alone)')
    top1 = {r: 100.0 * float(np.mean(test[f'probs_{r}'].argmax(1) == test['labels']))
            for r in model.stage_names}

    cfg.model.threshold = calib.threshold_
    cfg.test_evaluator = [dict(type='Accuracy', topk=(1, )),
                          dict(type='TinySaverMetric')]
    metrics = run_test(cfg)
    result = dict(
        saver_top1=top1['saver'],
        base_top1=top1['base'],
        cascade_top1=float(metrics['accuracy/top1']),
        exit_ratio=float(metrics['tinysaver/exit_ratio']),
        gmacs_saver=float(metrics['tinysaver/gmacs_saver']),
        gmacs_base=float(metrics['tinysaver/gmacs_base']),
        gmacs_cascade=float(metrics['tinysaver/gmacs_cascade']),
        macs_saved_pct=float(metrics['tinysaver/macs_saved_pct']),
        threshold=calib.threshold_,
    )
    # the routed run's per-image MACs must add up to saver + (1 - exit) * base
    analytic = cascade_macs_per_image(
        [result['gmacs_saver'], result['gmacs_base']], [1.0, 1.0 - result['exit_ratio']])
    if abs(analytic - result['gmacs_cascade']) > 1e-9 * max(1.0, analytic):
        raise RuntimeError(f'cascade GMACs {result["gmacs_cascade"]} differ from '
                           f'saver + (1 - exit) * base = {analytic}.')
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


def main():
    parser = argparse.ArgumentParser(description='Fashion-MNIST TinySaver demo')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='cascade config')
    parser.add_argument('--max-drop', type=float, default=0.001,
                        help='allowed top-1 drop on the holdout (0.001 = 0.1 points)')
    parser.add_argument('--out', default='results/demo_fashion_mnist.json')
    parser.add_argument('--work-dir', default='work_dirs/demo_fashion_mnist')
    parser.add_argument('--overwrite', action='store_true', help='replace --out when it exists')
    args = parser.parse_args()
    r = run_fashion_mnist_demo(args.config, args.max_drop, args.out, args.work_dir,
                               args.overwrite)
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
