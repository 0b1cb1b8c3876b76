"""Fashion-MNIST reports of the calibration guarantee and of 3-stage cascades."""
import json
import os
import os.path as osp

import numpy as np

from tinysaver_mm.core import (GuaranteedDropCalibrator, MultiStageDropCalibrator,
                               evaluate_cascade, macs_saved_pct, violation_rate)
from tinysaver_mm.utils import check_outputs
from ..records import load_exits, load_pair

__all__ = ['guarantee_report', 'multistage_report']


def _drop_at(d: dict, threshold: float) -> tuple:
    """Top-1 drop vs the base and exit share at ``threshold`` on records."""
    ex = d['confidence'] >= threshold
    casc = np.where(ex, d['saver_correct'], d['base_correct']).mean()
    return float(d['base_correct'].mean() - casc), float(ex.mean())


def guarantee_report(saver_val: str, base_val: str, saver_test: str, base_test: str,
                     epsilon: float = 0.005, delta: float = 0.1, n_splits: int = 500,
                     out: str = 'results/calibration_fashion_mnist.json',
                     overwrite: bool = False) -> dict:
    """Guarantee-mode calibration, checked on the test split.

    The threshold is fitted (drop <= epsilon with probability >= 1 - delta)
    on the holdout records and applied to the test records. The violation
    rate is measured on the test split alone: fit on a random half, measure
    the drop on the other half, ``n_splits`` times.

    Returns:
        dict: ``epsilon, delta, threshold, test_top1_drop, violation_rate,
        macs_saved_pct`` (drop as a fraction, MACs saved in % on test), plus
        ``test_exit_ratio`` and ``violation_splits``.

    Raises:
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    check_outputs([out], overwrite, [saver_val, base_val, saver_test, base_test])
    val, test = load_pair(saver_val, base_val), load_pair(saver_test, base_test)
    cal = GuaranteedDropCalibrator(epsilon, delta).fit(
        val['confidence'], val['saver_correct'], val['base_correct'])
    drop, exit_ratio = _drop_at(test, cal.threshold_)
    gmacs = test['gmacs_saver'] + (1 - exit_ratio) * test['gmacs_base']
    vr = violation_rate(test['confidence'], test['saver_correct'], test['base_correct'],
                        epsilon, delta, n_splits=n_splits, seed=0)
    result = dict(epsilon=epsilon, delta=delta, threshold=cal.threshold_,
                  test_top1_drop=drop, violation_rate=vr['violation_rate'],
                  macs_saved_pct=macs_saved_pct(gmacs, test['gmacs_base']),
                  test_exit_ratio=exit_ratio, violation_splits=n_splits)
    _write(result, out)
    return result


def _stage_arrays(paths: list, rule: str) -> tuple:
    """Confidences, correctness and MACs per image (not GMACs) of aligned stage records."""
    d = load_exits(paths, rule)
    return d['confidences'], d['corrects'], [m['macs_per_img'] for m in d['metas']]


def multistage_report(val: dict, test: dict, max_drop: float = 0.002,
                      rule: str = 'max_prob', grid: int = 41,
                      out: str = 'results/multistage_fashion_mnist.json',
                      overwrite: bool = False) -> dict:
    """Does saver -> mid -> base beat the best two-stage cascade?

    Thresholds are searched jointly on the holdout records (cheapest with a
    top-1 drop <= ``max_drop`` there) for the 3-stage cascade and for each
    2-stage one (saver -> base, mid -> base), then all are evaluated on test.

    Args:
        val (dict): ``saver``, ``mid``, ``base`` -> holdout record paths.
        test (dict): The same for the test split.
        overwrite (bool): Replace ``out`` when it exists.

    Returns:
        dict: One entry per cascade with thresholds, test top-1 (%), GMACs
        per image and MACs saved; ``three_stage_wins`` says whether the
        3-stage cascade costs less than the best 2-stage one while its test
        top-1 is at least as high, with the cost ratio and top-1 difference
        beside it.

    Raises:
        OutputExistsError: If ``out`` exists and ``overwrite`` is False.
    """
    check_outputs([out], overwrite, [*val.values(), *test.values()])
    cascades = {'saver>mid>base': ('saver', 'mid', 'base'),
                'saver>base': ('saver', 'base'), 'mid>base': ('mid', 'base')}
    result = dict(max_drop=max_drop, rule=rule)
    for name, roles in cascades.items():
        v = _stage_arrays([val[r] for r in roles], rule)
        t = _stage_arrays([test[r] for r in roles], rule)
        thresholds = MultiStageDropCalibrator(max_drop, grid).fit(*v).thresholds_
        ev = evaluate_cascade(*t, thresholds)
        result[name] = dict(thresholds=thresholds, test_top1=100 * ev['accuracy'],
                            gmacs=ev['macs'] / 1e9, shares=ev['shares'],
                            macs_saved_pct=macs_saved_pct(ev['macs'], t[2][-1]))
    base = _stage_arrays([test['base']], rule)
    result['base_test_top1'] = 100 * float(np.mean(base[1][0]))
    two = min(('saver>base', 'mid>base'), key=lambda k: result[k]['gmacs'])
    three = result['saver>mid>base']
    result['best_two_stage'] = two
    result['gmacs_three_vs_best_two'] = three['gmacs'] / result[two]['gmacs']
    result['top1_points_three_minus_best_two'] = three['test_top1'] - result[two]['test_top1']
    result['three_stage_wins'] = bool(three['gmacs'] < result[two]['gmacs']
                                      and three['test_top1'] >= result[two]['test_top1'])
    _write(result, out)
    return result


def _write(result: dict, out: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
