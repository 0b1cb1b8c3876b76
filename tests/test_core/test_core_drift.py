"""Drift maths against scipy / brute force, and a Monte-Carlo false-alarm check."""
import numpy as np
import pytest
from scipy import special, stats

from tinysaver_mm.core import DriftMonitor, check_level, drift_reference
from tinysaver_mm.core.drift import (checkpoint_level, fisher_exact_pvalue, kolmogorov_sf,
                                     ks_sketch_statistic)


@pytest.mark.parametrize('a,n,b,m', [(3, 20, 10, 25), (50, 100, 700, 1000), (0, 30, 5, 40),
                                     (90, 100, 740, 1000), (12, 12, 0, 9)])
def test_fisher_matches_scipy(a, n, b, m):
    ref = stats.fisher_exact([[a, n - a], [b, m - b]], alternative='two-sided').pvalue
    assert fisher_exact_pvalue(a, n, b, m) == pytest.approx(ref, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize('x', [0.3, 0.5, 0.8, 1.0, 1.36, 1.63, 2.5])
def test_kolmogorov_sf_matches_scipy(x):
    assert kolmogorov_sf(x) == pytest.approx(special.kolmogorov(x), abs=1e-9)


def test_ks_sketch_equals_full_ks_on_a_full_sketch_and_bounds_it_otherwise():
    rng = np.random.default_rng(0)
    ref, live = rng.beta(5, 1, 400), rng.beta(3, 1, 300)
    full = drift_reference(ref, 0.8, num_quantiles=100000)  # every record is a grid point
    assert ks_sketch_statistic(live, full['grid'], full['cdf']) == pytest.approx(
        stats.ks_2samp(ref, live).statistic, abs=1.0 / 400)
    coarse = drift_reference(ref, 0.8, num_quantiles=11)
    assert ks_sketch_statistic(live, coarse['grid'], coarse['cdf']) <= \
        stats.ks_2samp(ref, live).statistic + 1e-12


def test_reference_fields_brute_force():
    c = np.array([0.1, 0.5, 0.5, 0.9, 0.95, np.nan])
    r = drift_reference(c, 0.5)
    assert (r['count'], r['exits']) == (6, 4) and r['exit_ratio'] == pytest.approx(4 / 6)
    for g, f in zip(r['grid'], r['cdf']):
        assert f == pytest.approx(np.sum(c[np.isfinite(c)] <= g) / 6)


def test_spent_levels_sum_below_level():
    assert sum(checkpoint_level(0.05, k) for k in range(10000)) * 2 <= 0.05


@pytest.mark.parametrize('bad', [0, 1, -0.1, 1.5, 'x', None])
def test_level_outside_open_interval_refused(bad):
    with pytest.raises(ValueError, match='level'):
        check_level(bad)
    with pytest.raises(ValueError, match='level'):
        DriftMonitor(drift_reference(np.ones(10) * 0.9, 0.5), level=bad)


def test_monitor_detects_a_shift_and_stays_quiet_on_its_reference():
    rng = np.random.default_rng(1)
    thr = 0.85
    ref = drift_reference(rng.beta(6, 1, 5000), thr)
    mon = DriftMonitor(ref, level=0.01)
    live = rng.beta(2, 1, 3000)
    mon.update(live, live >= thr)
    assert mon.detected and mon.detected_at in (100, 200, 400, 800, 1600)
    assert mon.seen == 3000


def test_monte_carlo_false_alarm_rate_at_most_level():
    """Same distribution for calibration and stream: alarms <= level (+ MC slack)."""
    rng = np.random.default_rng(2)
    level, runs, thr = 0.1, 300, 0.8
    alarms = 0
    for _ in range(runs):
        ref = drift_reference(rng.beta(4, 1, 2000), thr)
        live = rng.beta(4, 1, 6400)
        mon = DriftMonitor(ref, level=level)
        alarms += mon.update(live, live >= thr)
    # binomial 99.9% upper slack above the level
    assert alarms / runs <= level + 3.1 * np.sqrt(level * (1 - level) / runs)
