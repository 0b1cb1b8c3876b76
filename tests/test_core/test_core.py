"""The framework-light core against brute-force references."""
import math

import numpy as np
import pytest
import torch

from tinysaver_mm.core import (AccuracyDropCalibrator, cascade_curve,
                               cascade_macs_per_image, check_threshold,
                               confidence_scores, macs_saved_pct, route_batch)


def _probs(n=50, k=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, k, generator=g) * 3, dim=1)


def test_confidence_rules_match_definitions():
    p = _probs()
    for i in range(p.size(0)):
        row = sorted(p[i].tolist(), reverse=True)
        ent = -sum(v * math.log(v) for v in row if v > 0) / math.log(len(row))
        assert confidence_scores(p, 'max_prob')[i].item() == pytest.approx(row[0], abs=1e-6)
        assert confidence_scores(p, 'margin')[i].item() == pytest.approx(row[0] - row[1], abs=1e-6)
        assert confidence_scores(p, 'entropy')[i].item() == pytest.approx(1 - ent, abs=1e-5)
    one_hot = torch.eye(4)
    assert torch.allclose(confidence_scores(one_hot, 'entropy'), torch.ones(4))
    uniform = torch.full((3, 4), 0.25)
    assert torch.allclose(confidence_scores(uniform, 'entropy'), torch.zeros(3), atol=1e-6)


def test_unknown_rule_and_bad_shape():
    with pytest.raises(ValueError, match='top3'):
        confidence_scores(_probs(), 'top3')
    with pytest.raises(ValueError, match='shape'):
        confidence_scores(torch.rand(5), 'max_prob')


@pytest.mark.parametrize('bad', [-0.1, 1.5, 'high', None])
def test_threshold_outside_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match=repr(bad).replace('(', r'\(')):
        check_threshold(bad)


@pytest.mark.parametrize('thresholds', [[0.5], [0.0], [1.0], [0.6, 0.4], [0.3, 0.9]])
@pytest.mark.parametrize('n', [1, 2, 17])
def test_route_batch_matches_brute_force(thresholds, n):
    g = torch.Generator().manual_seed(n)
    full = [torch.softmax(3 * torch.randn(n, 5, generator=g), 1)
            for _ in range(len(thresholds) + 1)]
    before = [f.clone() for f in full]
    calls = []

    def run(stage, rows):
        calls.append((stage, rows))
        return full[stage] if rows is None else full[stage][rows]

    conf = lambda p: p.max(1).values  # noqa: E731
    out, answered_by, first = route_batch(run, conf, thresholds, n)
    # brute force: every stage on every image, first one sure enough answers
    for i in range(n):
        stage = next((s for s, t in enumerate(thresholds) if conf(full[s][i:i + 1])[0] >= t),
                     len(thresholds))
        assert answered_by[i] == stage
        assert torch.equal(out[i], full[stage][i])
    assert torch.equal(first, conf(full[0]))
    # each stage ran once, on exactly the rows that reached it, or not at all
    for stage, rows in calls:
        reached = (answered_by >= stage).nonzero().squeeze(1)
        assert torch.equal(torch.arange(n) if rows is None else rows, reached)
        assert rows is not None or reached.numel() == n
    assert [s for s, _ in calls] == list(range(int(answered_by.max()) + 1))
    assert all(torch.equal(f, b) for f, b in zip(full, before))  # outputs not written to


def test_route_batch_refuses_different_output_shapes():
    outs = [torch.full((4, 3), 0.1), torch.full((4, 5), 0.1)]
    with pytest.raises(ValueError, match=r'base.*\(5,\).*saver.*\(3,\)'):
        route_batch(lambda s, r: outs[s], lambda p: p.max(1).values, [0.5], 4,
                    ['saver', 'base'])


def test_cascade_macs_and_saving():
    assert cascade_macs_per_image([2.0, 100.0], [1.0, 0.3]) == pytest.approx(32.0)
    assert macs_saved_pct(32.0, 100.0) == pytest.approx(68.0)
    with pytest.raises(ValueError):
        cascade_macs_per_image([1.0], [1.0, 0.5])
    with pytest.raises(ValueError):
        cascade_macs_per_image([1.0, 2.0], [1.0, 1.5])


def _records(n=400, seed=1):
    rng = np.random.default_rng(seed)
    conf = np.round(rng.random(n), 2)          # many ties on purpose
    saver = rng.random(n) < 0.4 + 0.6 * conf   # surer -> more often right
    base = rng.random(n) < 0.9
    return conf, saver, base


def test_cascade_curve_matches_brute_force():
    conf, saver, base = _records()
    curve = cascade_curve(conf, saver, base)
    for t, er, acc in zip(curve['threshold'], curve['exit_ratio'], curve['accuracy']):
        ex = conf >= t
        assert er == pytest.approx(ex.mean())
        assert acc == pytest.approx(np.where(ex, saver, base).mean())
    assert set(np.unique(conf)) <= set(curve['threshold'])


def test_calibrator_picks_lowest_feasible_threshold_brute_force():
    conf, saver, base = _records()
    eps = 0.01
    cal = AccuracyDropCalibrator(eps).fit(conf, saver, base)
    assert cal.fit(conf, saver, base) is cal
    feasible = [t for t in np.unique(np.append(conf, 1.0))
                if np.where(conf >= t, saver, base).mean() >= base.mean() - eps]
    assert cal.threshold_ == pytest.approx(min(feasible))
    assert cal.exit_ratio_ == pytest.approx((conf >= cal.threshold_).mean())


@pytest.mark.parametrize('bad', [0.0, 1.0, -0.2, 3])
def test_calibrator_refuses_bad_epsilon(bad):
    with pytest.raises(ValueError, match='max_drop'):
        AccuracyDropCalibrator(bad)


def test_calibrator_refuses_empty_records():
    with pytest.raises(ValueError, match='empty'):
        AccuracyDropCalibrator(0.01).fit(np.array([]), np.array([]), np.array([]))


def _stage_records(n=300, k=3, seed=2):
    rng = np.random.default_rng(seed)
    confs = [rng.random(n) for _ in range(k)]
    corrects = [rng.random(n) < 0.5 + 0.5 * c for c in confs]
    return confs, corrects, [1.0, 5.0, 20.0][:k]


def test_evaluate_cascade_matches_per_sample_loop():
    from tinysaver_mm.core import evaluate_cascade
    confs, corrects, macs = _stage_records()
    ts = (0.7, 0.4)
    r = evaluate_cascade(confs, corrects, macs, ts)
    right, cost, shares = 0, 0.0, [0, 0, 0]
    for j in range(len(confs[0])):
        stage = next((i for i, t in enumerate(ts) if confs[i][j] >= t), 2)
        right += corrects[stage][j]
        cost += sum(macs[:stage + 1])
        shares[stage] += 1
    n = len(confs[0])
    assert r['accuracy'] == pytest.approx(right / n)
    assert r['macs'] == pytest.approx(cost / n)
    assert r['shares'] == pytest.approx([s / n for s in shares])


def test_joint_search_is_the_cheapest_feasible_grid_point():
    from tinysaver_mm.core import evaluate_cascade, joint_threshold_search
    confs, corrects, macs = _stage_records()
    best = joint_threshold_search(confs, corrects, macs, max_drop=0.02, grid=9)
    ref = np.mean(corrects[-1]) - 0.02
    grids = [np.unique(np.append(np.quantile(c, np.linspace(0, 1, 9)), 1.0)) for c in confs[:2]]
    costs = [evaluate_cascade(confs, corrects, macs, (a, b))
             for a in grids[0] for b in grids[1]]
    feasible = [c['macs'] for c in costs if c['accuracy'] >= ref - 1e-12]
    assert best['macs'] == pytest.approx(min(feasible))
    assert best['accuracy'] >= ref - 1e-12
    with pytest.raises(ValueError, match='max_drop'):
        joint_threshold_search(confs, corrects, macs, max_drop=0)
