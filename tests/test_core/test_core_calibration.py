"""Threshold calibrators and the saver-selection metric vs brute force."""
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from tinysaver_mm.core.calibration import (AccuracyDropCalibrator, BaseCalibrator,
                                           ExitRatioCalibrator, GuaranteedDropCalibrator,
                                           MacsBudgetCalibrator, MapDropCalibrator,
                                           MultiStageDropCalibrator, evaluate_cascade,
                                           InfeasibleTargetError, joint_threshold_search,
                                           records_needed, violation_rate)
from tinysaver_mm.core.saver_selection import delta_ctr


def _records(n=600, seed=3, base_p=0.85):
    rng = np.random.default_rng(seed)
    conf = np.round(rng.random(n), 2)          # ties on purpose, all < 1
    saver = rng.random(n) < 0.3 + 0.7 * conf   # surer -> more often right
    base = rng.random(n) < base_p
    return conf, saver, base


def _candidates(conf):
    """Distinct confidences plus 1.0, strictest first."""
    return sorted(set(conf.tolist()) | {1.0}, reverse=True)


def _brute_ucb(conf, saver, base, t, delta):
    ex = conf >= t
    k_loss = int(sum(e and (not s) and b for e, s, b in zip(ex, saver, base)))
    k_gain = int(sum(e and s and (not b) for e, s, b in zip(ex, saver, base)))
    # two-sided exact interval at 1 - delta = one-sided bounds at delta / 2
    hi = binomtest(k_loss, len(conf)).proportion_ci(1 - delta, 'exact').high
    lo = binomtest(k_gain, len(conf)).proportion_ci(1 - delta, 'exact').low
    return hi - lo


@pytest.mark.parametrize('max_drop,delta', [(0.03, 0.1), (0.08, 0.05)])
def test_guaranteed_threshold_matches_fixed_sequence_brute_force(max_drop, delta):
    conf, saver, base = _records()
    cal = GuaranteedDropCalibrator(max_drop, delta)
    assert cal.fit(conf, saver, base) is cal
    chosen = None
    for t in _candidates(conf):
        ucb = _brute_ucb(conf, saver, base, t, delta)
        if ucb > max_drop:
            break
        chosen, chosen_ucb = t, ucb
    assert chosen is not None and chosen < 1.0   # a real, non-trivial pick
    assert cal.threshold_ == pytest.approx(chosen)
    assert cal.drop_ucb_ == pytest.approx(chosen_ucb, abs=1e-9)
    ex = conf >= chosen
    assert cal.exit_ratio_ == pytest.approx(ex.mean())
    assert cal.accuracy_ == pytest.approx(np.where(ex, saver, base).mean())
    assert cal.base_accuracy_ == pytest.approx(base.mean())
    assert cal.saver_accuracy_ == pytest.approx(saver.mean())


@pytest.mark.parametrize('name', ['delta', 'max_drop'])
@pytest.mark.parametrize('bad', [0.0, 1.0, -0.1, 1.5, 'x'])
def test_guaranteed_refuses_bad_parameters(name, bad):
    kwargs = dict(max_drop=0.01, delta=0.1)
    kwargs[name] = bad
    with pytest.raises(ValueError, match=name):
        GuaranteedDropCalibrator(**kwargs)


def test_guaranteed_refuses_bad_records():
    cal = GuaranteedDropCalibrator(0.01, 0.1)
    with pytest.raises(ValueError, match='empty'):
        cal.fit(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError, match='lengths differ'):
        cal.fit(np.ones(3), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match='saver_correct'):
        cal.fit(np.ones(3), np.array([0, 2, 1]), np.ones(3))


def test_guaranteed_infeasible_says_why():
    conf, saver, base = _records(n=50)
    with pytest.raises(ValueError, match='infeasible') as err:
        GuaranteedDropCalibrator(0.01, 0.1).fit(conf, saver, base)
    for part in ('max_drop=0.01', 'delta=0.1', 'n=50'):
        assert part in str(err.value)


def test_violation_rate_within_delta():
    conf, saver, base = _records(n=2000, seed=7)
    delta = 0.1
    out = violation_rate(conf, saver, base, max_drop=0.02, delta=delta,
                         n_splits=100, seed=1)
    assert out['violation_rate'] <= delta + 3 * math.sqrt(delta * (1 - delta) / 100)
    assert out['infeasible_splits'] == 0
    assert 0.0 < out['mean_exit_ratio'] < 1.0
    assert out['mean_drop'] <= 0.02


def test_violation_rate_counts_infeasible_splits_as_no_exit():
    conf, saver, base = _records(n=40)
    out = violation_rate(conf, saver, base, 0.01, 0.1, n_splits=5)
    assert out == dict(violation_rate=0.0, mean_drop=0.0, mean_exit_ratio=0.0,
                       infeasible_splits=5)
    with pytest.raises(ValueError, match='n_splits'):
        violation_rate(conf, saver, base, 0.01, 0.1, n_splits=0)


@pytest.mark.parametrize('target', [0.0, 0.05, 0.3, 0.5, 0.77, 1.0])
def test_exit_ratio_calibrator_brute_force(target):
    conf, saver, base = _records()
    cal = ExitRatioCalibrator(target)
    assert cal.fit(conf, saver, base) is cal
    feasible = [t for t in _candidates(conf) if (conf >= t).mean() >= target]
    assert cal.threshold_ == pytest.approx(max(feasible))
    assert cal.exit_ratio_ >= target
    assert cal.accuracy_ == pytest.approx(
        np.where(conf >= cal.threshold_, saver, base).mean())


@pytest.mark.parametrize('budget', [1.0, 3.0, 7.5, 11.0, 50.0])
def test_macs_budget_calibrator_brute_force(budget):
    conf, saver, base = _records()
    cal = MacsBudgetCalibrator(budget, gmacs_saver=1.0, gmacs_base=10.0)
    assert cal.fit(conf, saver, base) is cal
    cost = {t: 1.0 + (1 - (conf >= t).mean()) * 10.0 for t in _candidates(conf)}
    best = max(t for t, c in cost.items() if c <= budget + 1e-12)
    assert cal.threshold_ == pytest.approx(best)
    assert cal.gmacs_ == pytest.approx(cost[best])
    assert cal.exit_ratio_ == pytest.approx((conf >= best).mean())


def test_budget_calibrators_refuse_infeasible_and_bad_values():
    with pytest.raises(ValueError, match='infeasible'):
        ExitRatioCalibrator(1.5)
    for bad in (-0.1, 'half', float('nan')):
        with pytest.raises(ValueError, match='target_exit_ratio'):
            ExitRatioCalibrator(bad)
    with pytest.raises(ValueError, match='infeasible.*saver alone'):
        MacsBudgetCalibrator(0.5, gmacs_saver=1.0, gmacs_base=10.0)
    with pytest.raises(ValueError, match='gmacs_base'):
        MacsBudgetCalibrator(5.0, gmacs_saver=1.0, gmacs_base=0)
    with pytest.raises(ValueError, match='max_gmacs'):
        MacsBudgetCalibrator(-1, gmacs_saver=1.0, gmacs_base=10.0)
    with pytest.raises(ValueError, match='empty'):
        ExitRatioCalibrator(0.5).fit(np.array([]), np.array([]), np.array([]))


def _brute_delta_ctr(conf, saver, base, macs_saver, macs_base):
    r_e, threshold = 1.0, min(conf)
    prev_share, prev_t = 0.0, 1.0
    if max(conf) >= 1.0:
        prev_t = float('inf')
    for t in sorted(set(conf.tolist()), reverse=True):
        a = [i for i in range(len(conf)) if conf[i] >= t]
        if sum(saver[i] for i in a) / len(a) < sum(base[i] for i in a) / len(a):
            r_e, threshold = prev_share, prev_t
            break
        prev_share, prev_t = len(a) / len(conf), t
    c = macs_saver / macs_base
    return dict(delta_ctr=c - r_e, c=c, exit_ratio=r_e, threshold=threshold)


@pytest.mark.parametrize('seed,base_p', [(3, 0.85), (4, 0.6), (5, 0.1), (6, 0.99)])
def test_delta_ctr_matches_brute_force(seed, base_p):
    conf, saver, base = _records(n=300, seed=seed, base_p=base_p)
    got = delta_ctr(conf, saver, base, 0.5, 4.0)
    want = _brute_delta_ctr(conf, saver, base, 0.5, 4.0)
    assert got == pytest.approx(want)


def test_delta_ctr_hand_cases_and_errors():
    conf = np.array([1.0, 0.9, 0.9, 0.5])
    # saver worse already at conf 1.0: nothing can exit
    out = delta_ctr(conf, [0, 1, 1, 1], [1, 1, 1, 0], 1.0, 4.0)
    assert out == dict(delta_ctr=0.25, c=0.25, exit_ratio=0.0, threshold=math.inf)
    # ties at 0.9 exit together; the saver falls below only at 0.5
    out = delta_ctr(conf, [1, 1, 0, 0], [1, 1, 0, 1], 1.0, 4.0)
    assert out['exit_ratio'] == 0.75 and out['threshold'] == 0.9
    assert delta_ctr(conf, [1, 1, 1, 1], [0, 0, 0, 0], 1.0, 4.0)['exit_ratio'] == 1.0
    with pytest.raises(ValueError, match='macs_saver'):
        delta_ctr(conf, [1] * 4, [1] * 4, 0, 4.0)
    with pytest.raises(ValueError, match='macs_base'):
        delta_ctr(conf, [1] * 4, [1] * 4, 1.0, -2)
    with pytest.raises(ValueError, match='empty'):
        delta_ctr([], [], [], 1.0, 4.0)
    with pytest.raises(ValueError, match='lengths differ'):
        delta_ctr(conf, [1] * 3, [1] * 4, 1.0, 4.0)


def _stages(n=300, seed=2):
    """Records of a 3-stage cascade (confidences, corrects, MACs per image)."""
    rng = np.random.default_rng(seed)
    confs = [rng.random(n) for _ in range(3)]
    corrects = [rng.random(n) < 0.5 + 0.5 * c for c in confs]
    return confs, corrects, [1.0, 5.0, 20.0]


def test_every_calibrator_follows_the_fit_contract():
    """fit returns the calibrator; the learned threshold(s) end in ``_``."""
    conf, saver, base = _records()
    two_stage = [AccuracyDropCalibrator(0.05), GuaranteedDropCalibrator(0.08, 0.1),
                 ExitRatioCalibrator(0.3), MacsBudgetCalibrator(5.0, 1.0, 10.0)]
    for cal in two_stage:
        assert isinstance(cal, BaseCalibrator) and not hasattr(cal, 'threshold_')
        assert cal.fit(conf, saver, base) is cal
        assert isinstance(cal.threshold_, float)
    multi = MultiStageDropCalibrator(0.02, grid=9)
    assert isinstance(multi, BaseCalibrator) and multi.fit(*_stages()) is multi
    assert len(multi.thresholds_) == 2
    curve = [dict(threshold=float('inf'), map=0.5, macs_saved_pct=0.0)]
    det = MapDropCalibrator(0.01)
    assert isinstance(det, BaseCalibrator) and det.fit(curve, 0.5) is det
    assert det.threshold_ == float('inf')


def test_multistage_calibrator_is_the_joint_search():
    confs, corrects, macs = _stages()
    cal = MultiStageDropCalibrator(0.02, grid=9).fit(confs, corrects, macs)
    best = joint_threshold_search(confs, corrects, macs, max_drop=0.02, grid=9)
    assert best['thresholds'] == cal.thresholds_
    assert best == dict(evaluate_cascade(confs, corrects, macs, cal.thresholds_),
                        thresholds=cal.thresholds_)
    assert (cal.accuracy_, cal.macs_, cal.shares_) == (
        best['accuracy'], best['macs'], best['shares'])
    assert cal.reference_accuracy_ == pytest.approx(np.mean(corrects[-1]))
    assert cal.accuracy_ >= cal.reference_accuracy_ - 0.02 - 1e-12
    for bad in (0, 1.5, 'x'):
        with pytest.raises(ValueError, match='max_drop'):
            MultiStageDropCalibrator(bad)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='grid'):
            MultiStageDropCalibrator(0.01, grid=bad)


def test_multistage_search_raises_when_no_thresholds_keep_the_drop():
    """An early stage saturated at confidence 1.0 on samples it gets wrong is
    taken even at the strictest candidate: no combination keeps the drop, and
    the search says so instead of returning None."""
    n = 100
    saver_conf = np.full(n, 1.0)
    saver_right = np.arange(n) >= 20          # wrong on 20 samples, sure anyway
    confs = [saver_conf, np.random.default_rng(0).random(n), np.zeros(n)]
    corrects = [saver_right, np.ones(n, bool), np.ones(n, bool)]
    with pytest.raises(ValueError, match='No thresholds keep the top-1 drop within '
                       r'max_drop=0.01.*larger max_drop') as err:
        joint_threshold_search(confs, corrects, [1.0, 5.0, 20.0], max_drop=0.01, grid=5)
    assert '0.8000 vs the last stage\'s 1.0000' in str(err.value)
    with pytest.raises(ValueError, match='No thresholds'):
        MultiStageDropCalibrator(0.01, grid=5).fit(confs, corrects, [1.0, 5.0, 20.0])


def test_map_drop_calibrator_picks_the_most_macs_saved_within_the_drop():
    curve = [dict(threshold=1.0, map=0.50, macs_saved_pct=0.0, exit_ratio=0.0),
             dict(threshold=0.6, map=0.495, macs_saved_pct=40.0, exit_ratio=0.4),
             dict(threshold=0.5, map=0.495, macs_saved_pct=40.0, exit_ratio=0.4),
             dict(threshold=0.2, map=0.47, macs_saved_pct=80.0, exit_ratio=0.8)]
    cal = MapDropCalibrator(0.01).fit(curve, 0.50)
    assert cal.threshold_ == 0.5            # a tie in MACs saved: the lower threshold
    assert cal.row_ == curve[2] and cal.row_ is not curve[2]
    assert (cal.map_, cal.macs_saved_pct_, cal.base_map_) == (0.495, 40.0, 0.50)
    assert cal.map_drop_ == pytest.approx(0.005)
    assert MapDropCalibrator(0.0).fit(curve, 0.50).threshold_ == 1.0
    assert MapDropCalibrator(0.05).fit(curve, 0.50).threshold_ == 0.2


def test_map_drop_calibrator_refuses_bad_targets_and_curves():
    for bad in (-0.01, 1.5, 'x', float('nan')):
        with pytest.raises(ValueError, match='max_drop'):
            MapDropCalibrator(bad)
    with pytest.raises(ValueError, match='empty'):
        MapDropCalibrator(0.01).fit([], 0.5)
    # a curve without its exit ratio 0 row: no silent fallback to its first row
    with pytest.raises(ValueError, match='No row of the mAP curve.*exit ratio 0 row'):
        MapDropCalibrator(0.01).fit([dict(threshold=0.2, map=0.4, macs_saved_pct=80.0)],
                                    0.5)


@pytest.mark.parametrize('max_drop, delta', [(0.01, 0.1), (0.005, 0.05), (0.2, 0.5)])
def test_records_needed_is_the_smallest_certifiable_count(max_drop, delta):

    n = records_needed(max_drop, delta)
    # saver and base agree everywhere (both right): no disagreement at any threshold
    def fit(k):
        conf = np.linspace(0.5, 1.0, k)
        return GuaranteedDropCalibrator(max_drop, delta).fit(conf, np.ones(k), np.ones(k))
    assert fit(n).drop_ucb_ <= max_drop
    with pytest.raises(InfeasibleTargetError, match=f'at least {n} records'):
        fit(n - 1)
    assert n == pytest.approx(math.log(2 / delta) / max_drop, rel=0.1)


def test_infeasible_error_names_the_records_needed():

    conf, saver, base = _records(n=50)
    with pytest.raises(InfeasibleTargetError) as err:
        GuaranteedDropCalibrator(0.01, 0.1).fit(conf, saver, base)
    assert f'at least {records_needed(0.01, 0.1)} records' in str(err.value)
