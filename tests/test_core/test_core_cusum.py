"""ExitCUSUM and its Markov-chain run lengths against brute-force simulation."""
import numpy as np
import pytest

from tinysaver_mm.core.cusum import (ExitCUSUM, cusum_arl, cusum_increments, cusum_path,
                                     cusum_threshold)


def _first_alarms(p, p0, p1, h, runs, length, seed):
    rng = np.random.default_rng(seed)
    firsts = []
    for _ in range(runs):
        alarms = cusum_path(rng.random(length) < p, p0, p1, h)
        assert alarms, 'stream too short for this ARL'
        firsts.append(alarms[0])
    return np.array(firsts)


@pytest.mark.parametrize('p0,p1,p', [(0.745, 0.695, None), (0.745, 0.795, None),
                                     (0.745, 0.695, 0.6), (0.3, 0.4, None)])
def test_markov_chain_run_length_matches_simulation(p0, p1, p):
    h = cusum_threshold(p0, p1, 150)
    arl = cusum_arl(p0, p1, h, p=p)
    runs = _first_alarms(p0 if p is None else p, p0, p1, h, 1500, int(arl * 12), seed=1)
    se = runs.std() / np.sqrt(runs.size)
    assert abs(runs.mean() - arl) < 4 * se, (runs.mean(), arl, se)


def test_threshold_is_the_smallest_reaching_the_target():
    h = cusum_threshold(0.745, 0.695, 1000)
    assert cusum_arl(0.745, 0.695, h) >= 1000 > cusum_arl(0.745, 0.695, h - 1)


def test_increments_are_integer_llr_ratios():
    up, down = cusum_increments(0.5, 0.6, units=5)
    # log(1.2) is the smaller in size: it becomes 5 units, log(0.8) scales with it
    assert up == 5 and down == round(5 * np.log(0.8) / np.log(1.2)) == -6


def test_exit_cusum_equals_two_brute_force_sides_and_restarts():
    c = ExitCUSUM(0.745, shift=0.05, false_alarms_per_10k=100)
    rng = np.random.default_rng(0)
    stream = np.r_[rng.random(3000) < 0.745, rng.random(3000) < 0.5, rng.random(3000) < 0.95]
    got = []
    for chunk in np.array_split(stream, 37):  # any chunking: the same alarms
        got += c.update(chunk)
    # brute force: both sides from 0, both reset at any alarm
    (u1, u0), (d1, d0) = cusum_increments(0.745, 0.795), cusum_increments(0.745, 0.695)
    s_up = s_dn = 0
    expected = []
    for i, e in enumerate(stream, 1):
        s_up, s_dn = max(0, s_up + (u1 if e else u0)), max(0, s_dn + (d1 if e else d0))
        if s_up >= c.h_up or s_dn >= c.h_down:
            expected.append((i, 'up' if s_up >= c.h_up else 'down'))
            s_up = s_dn = 0
    assert [(a['at'], a['side']) for a in got] == expected
    c.reset()
    c.chunk = 50  # the vectorised steps cut the stream themselves: the same alarms
    assert [(a['at'], a['side']) for a in c.update(stream)] == expected
    sides = [s for at, s in expected if at > 3000]
    assert sides[0] == 'down' and 'up' in [s for at, s in expected if at > 6000]
    assert c.state()['seen'] == stream.size and c.state()['drift'] is True


@pytest.mark.parametrize('kwargs,match', [(dict(exit_ratio=1.0), 'exit_ratio'),
                                          (dict(exit_ratio=0.5, shift=0), 'shift'),
                                          (dict(exit_ratio=0.5, false_alarms_per_10k=0),
                                           'false_alarms_per_10k')])
def test_bad_design_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExitCUSUM(**kwargs)
