"""The paired drop interval against independent computations: scipy's own paired
bootstrap, brute-force resampling of the image pairs, the normal approximation,
and its coverage on simulated data whose true drop is known."""
import numpy as np
import pytest
from scipy import stats

from tinysaver_mm.core import paired_drop_interval


def _pairs(n, p_lost, p_gained, seed):
    """Reference/new right-wrong flags with the given discordance."""
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    ref = rng.random(n) < 0.85
    lost, gained = u < p_lost, (u >= p_lost) & (u < p_lost + p_gained)
    ref[lost], ref[gained] = True, False
    new = ref.copy()
    new[lost], new[gained] = False, True
    return ref, new


def test_counts_and_point_estimate():
    ref = np.array([1, 1, 1, 0, 0, 1, 0], dtype=bool)
    new = np.array([1, 0, 0, 1, 0, 1, 0], dtype=bool)
    d = paired_drop_interval(ref, new)
    assert (d['n'], d['lost'], d['gained']) == (7, 2, 1)
    assert d['drop'] == pytest.approx(ref.mean() - new.mean())
    assert d['low'] <= d['drop'] <= d['high']


@pytest.mark.parametrize('n,p_lost,p_gained', [(347, 0.05, 0.02), (2000, 0.01, 0.01)])
def test_matches_scipy_paired_bootstrap(n, p_lost, p_gained):
    ref, new = _pairs(n, p_lost, p_gained, seed=n)
    ours = paired_drop_interval(ref, new, num_boot=20000, seed=1)
    res = stats.bootstrap((ref.astype(float), new.astype(float)),
                          lambda a, b, axis=-1: a.mean(axis) - b.mean(axis), paired=True,
                          vectorized=True, n_resamples=20000, method='percentile',
                          confidence_level=0.95, random_state=2)
    # two independent Monte Carlo runs of the same distribution: within a lattice step
    tol = 1.0 / n + 2e-3
    assert ours['low'] == pytest.approx(res.confidence_interval.low, abs=tol)
    assert ours['high'] == pytest.approx(res.confidence_interval.high, abs=tol)


def test_matches_brute_force_resampling_of_images():
    n = 500
    ref, new = _pairs(n, 0.04, 0.015, seed=3)
    rng = np.random.default_rng(5)
    draws = rng.integers(0, n, size=(5000, n))
    drops = ref[draws].mean(1) - new[draws].mean(1)
    low, high = np.quantile(drops, [0.025, 0.975])
    ours = paired_drop_interval(ref, new, num_boot=5000, seed=7)
    assert ours['low'] == pytest.approx(low, abs=1.0 / n + 2e-3)
    assert ours['high'] == pytest.approx(high, abs=1.0 / n + 2e-3)


def test_close_to_the_normal_interval_on_many_images():
    n = 20000
    ref, new = _pairs(n, 0.03, 0.02, seed=11)
    diff = ref.astype(float) - new.astype(float)
    half = stats.norm.ppf(0.975) * diff.std(ddof=1) / np.sqrt(n)
    ours = paired_drop_interval(ref, new, num_boot=20000)
    assert ours['low'] == pytest.approx(diff.mean() - half, abs=5e-4)
    assert ours['high'] == pytest.approx(diff.mean() + half, abs=5e-4)


def test_coverage_of_the_true_drop():
    """95 % intervals on 400 simulated test sets cover the true drop about 95 % of the time."""
    p_lost, p_gained, n = 0.05, 0.03, 400
    rng = np.random.default_rng(0)
    hits = 0
    reps = 400
    for r in range(reps):
        ref, new = _pairs(n, p_lost, p_gained, seed=int(rng.integers(1 << 30)))
        d = paired_drop_interval(ref, new, num_boot=2000, seed=r)
        hits += d['low'] <= p_lost - p_gained <= d['high']
    # binomial sd at 0.95 over 400 reps is 1.1 points: 4 sd either side
    assert 0.905 <= hits / reps <= 0.99


def test_no_changed_answer_gives_a_zero_interval():
    ref = np.array([1, 0, 1, 1], dtype=bool)
    d = paired_drop_interval(ref, ref)
    assert (d['drop'], d['low'], d['high'], d['lost'], d['gained']) == (0, 0, 0, 0, 0)


def test_reproducible_with_the_seed():
    ref, new = _pairs(300, 0.05, 0.02, seed=1)
    assert paired_drop_interval(ref, new, seed=3) == paired_drop_interval(ref, new, seed=3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(reference_correct=[1, 0], new_correct=[1]), 'same images'),
    (dict(reference_correct=[], new_correct=[]), 'No images'),
    (dict(reference_correct=[1, 2], new_correct=[1, 0]), r'right \(1/True\)'),
    (dict(reference_correct=[1, 0], new_correct=[1, 0], level=1.5), 'level'),
    (dict(reference_correct=[1, 0], new_correct=[1, 0], num_boot=10), 'num_boot'),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_drop_interval(**kwargs)
