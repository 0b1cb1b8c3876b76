"""Latency as the cost: the cost model, the latency budget, calibrate and select_saver on it."""
import csv
import dataclasses
import json
import subprocess
import sys
import os.path as osp

import numpy as np
import pytest

from tinysaver_mm.apis import CostModel
from tinysaver_mm.apis.benchmark import STAGE_LATENCY_COLUMNS
from tinysaver_mm.core import (LatencyBudgetCalibrator, StageLatency, cascade_curve,
                               cascade_ms_per_img)
from tinysaver_mm.testing import cls_records

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SAVER = {1: 0.5, 8: 0.1, 32: 0.05}      # ms per image at each batch size
BASE = {1: 4.0, 8: 1.5, 16: 1.2, 32: 1.0}


def _table(path, rows):
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, STAGE_LATENCY_COLUMNS)
        w.writeheader()
        for model, backend, times in rows:
            for bs, ms in times.items():
                w.writerow(dict(model=model, backend=backend, device='cpu', threads=2,
                                batch_size=bs, ms_per_img=ms, img_per_s=1e3 / ms, gmacs=0.1,
                                source='test'))
    return str(path)


def test_stage_latency_interpolates_the_time_per_batch():
    base = StageLatency(BASE, 'base')
    assert base.ms_per_img(8) == pytest.approx(1.5)
    # 12 rows: halfway between 8 rows (12 ms) and 16 rows (19.2 ms) per batch
    assert float(base.ms_per_batch(12)) == pytest.approx((12 + 19.2) / 2)
    assert float(base.ms_per_batch(0)) == 0.0
    # batch 32, half exit: saver on 32 + base on 16 rows, per image of 32
    assert float(cascade_ms_per_img(0.5, StageLatency(SAVER), base, 32)) == pytest.approx(
        0.05 + 16 * 1.2 / 32)
    assert float(cascade_ms_per_img(1.0, StageLatency(SAVER), base, 32)) == pytest.approx(0.05)
    assert float(cascade_ms_per_img(0.0, StageLatency(SAVER), base, 32)) == pytest.approx(1.05)
    with pytest.raises(ValueError, match='batch of 64 rows is outside the measured sizes'):
        base.ms_per_batch(64)
    with pytest.raises(ValueError, match=r"ms per image -1.0 at batch 4"):
        StageLatency({4: -1.0}, 'x')
    with pytest.raises(ValueError, match='no latency measurement'):
        StageLatency({}, 'x')


def test_latency_budget_picks_what_brute_force_picks(tmp_path):
    rng = np.random.default_rng(0)
    conf = rng.random(500)
    s_ok, b_ok = rng.random(500) < 0.4 + 0.6 * conf, rng.random(500) < 0.9
    saver, base = StageLatency(SAVER), StageLatency(BASE)
    curve = cascade_curve(conf, s_ok, b_ok)
    for budget in (0.2, 0.5, 0.8, 1.2):
        cal = LatencyBudgetCalibrator(budget, saver, base, 32).fit(conf, s_ok, b_ok)
        # brute force: the highest threshold whose cascade time fits
        best = max(t for t, r in zip(curve['threshold'], curve['exit_ratio'])
                   if 0.05 + float(base.ms_per_batch((1 - r) * 32)) / 32 <= budget + 1e-12)
        assert cal.threshold_ == best
        assert cal.ms_per_img_ <= budget + 1e-12
    with pytest.raises(ValueError, match=r'max_ms_per_img=0.01 is infeasible: the saver alone '
                       r'takes 0.05 ms per image at batch 32'):
        LatencyBudgetCalibrator(0.01, saver, base, 32)


def test_calibrate_tool_latency_target(tmp_path):
    s, b = cls_records.pair(tmp_path, saver_meta=dict(model='tiny'),
                            base_meta=dict(model='big'))
    table = _table(tmp_path / 'lat.csv', [('tiny', 'onnxruntime', SAVER),
                                          ('big', 'onnxruntime', BASE),
                                          ('big', 'pytorch', {32: 9.0})])
    out = str(tmp_path / 'cal.json')

    def tool(*extra):
        return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'calibrate.py'), s, b,
                               '--latency-table', table, *extra], capture_output=True, text=True)
    proc = tool('--target', 'latency', '--max-ms-per-img', '0.5', '--backend', 'onnxruntime',
                '--out', out)
    assert proc.returncode == 0, proc.stderr
    r = json.load(open(out))
    assert r['ms_per_img_cascade'] <= 0.5 and r['latency_backend'] == 'onnxruntime'
    assert r['ms_per_img_cascade'] == pytest.approx(
        0.05 + float(StageLatency(BASE).ms_per_batch((1 - r['exit_ratio']) * 32)) / 32)
    # below the saver's own time: one line naming both figures
    proc = tool('--target', 'latency', '--max-ms-per-img', '0.01', '--backend', 'onnxruntime',
                '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'max_ms_per_img=0.01 is infeasible: the saver alone takes 0.05 ms' in proc.stderr
    # the table has no onnxruntime/pytorch time of the saver: named, with what it has
    proc = tool('--target', 'latency', '--max-ms-per-img', '0.5', '--backend', 'pytorch',
                '--out', str(tmp_path / 'y.json'))
    assert proc.returncode == 1 and 'has no latency of tiny [pytorch, cpu]' in proc.stderr
    proc = tool('--target', 'latency', '--backend', 'onnxruntime', '--out', str(tmp_path / 'z'))
    assert proc.returncode == 1 and 'needs --max-ms-per-img' in proc.stderr


def test_records_without_a_model_name_are_refused_for_latency(tmp_path):
    from tinysaver_mm.apis.calibrate import calibrate
    s, b = cls_records.pair(tmp_path)
    table = _table(tmp_path / 'lat.csv', [('tiny', 'pytorch', SAVER)])
    with pytest.raises(ValueError, match='does not name its model.*re-record'):
        calibrate(s, b, 'latency', out=str(tmp_path / 'c.json'), max_ms_per_img=1.0,
                  cost=CostModel('latency', table))


def test_select_saver_ranks_by_latency_and_shows_both_rankings(tmp_path):
    from tinysaver_mm.apis.select_saver import select_saver
    base = None
    savers = []
    for i, (model, macs) in enumerate((('deep_thin', 400_000), ('wide_flat', 900_000))):
        d = tmp_path / model
        d.mkdir()
        s, base_path = cls_records.pair(d, seed=0, saver_meta=dict(model=model, macs_per_img=macs),
                                        base_meta=dict(model='big'))
        savers.append(s)
        base = base or base_path
    # the MACs-cheaper saver is the slower one in milliseconds
    table = _table(tmp_path / 'lat.csv', [('deep_thin', 'pytorch', {32: 0.3}),
                                          ('wide_flat', 'pytorch', {32: 0.1}),
                                          ('big', 'pytorch', {32: 1.0})])
    r = select_saver(base, savers, out=str(tmp_path / 'sel.csv'),
                     cost=CostModel('latency', table))
    assert r['choice_macs'] == 'deep_thin' and r['choice_latency'] == 'wide_flat'
    by = {row['saver']: row for row in r['rows']}
    assert [row['saver'] for row in r['rows']] == ['wide_flat', 'deep_thin']
    for name, ms in (('deep_thin', 0.3), ('wide_flat', 0.1)):
        row = by[name]
        assert row['c_latency'] == pytest.approx(ms / 1.0)
        assert row['delta_ctr_latency'] == pytest.approx(ms - row['exit_ratio_tr'])
        assert row['delta_ctr'] == pytest.approx(row['c'] - row['exit_ratio_tr'])
    m = select_saver(base, savers, out=str(tmp_path / 'sel2.csv'),
                     cost=CostModel(latency_table=table))
    assert [row['saver'] for row in m['rows']] == ['deep_thin', 'wide_flat']  # MACs ranks
    assert m['choice_latency'] == 'wide_flat'
    with pytest.raises(ValueError, match="cost='latency' needs a latency table"):
        select_saver(base, savers, out=str(tmp_path / 'sel3.csv'), cost=CostModel('latency'))


def test_defaults_are_the_papers_macs_and_the_value_is_frozen():
    cost = CostModel()
    assert (cost.kind, cost.latency_table, cost.batch_size, cost.backend, cost.device) == (
        'macs', None, 32, 'pytorch', 'cpu')
    assert not cost.has_latency
    with pytest.raises(dataclasses.FrozenInstanceError):
        cost.batch_size = 1


def test_stage_latency_reads_the_row_of_its_backend(tmp_path):
    table = _table(tmp_path / 'lat.csv', [('tiny', 'pytorch', {1: 0.5, 32: 0.05}),
                                          ('tiny', 'onnxruntime', {32: 0.02})])
    ort = CostModel('latency', table, batch_size=32, backend='onnxruntime')
    assert ort.stage_latency(dict(model='tiny'), 'r.npz').ms_per_img(32) == pytest.approx(0.02)
    pt = CostModel(latency_table=table)  # MACs rank, the times are there too
    assert pt.has_latency and pt.stage_latency(dict(model='tiny'), 'r.npz').ms_per_img(1) == \
        pytest.approx(0.5)
    with pytest.raises(ValueError, match=r'has no latency of tiny \[pytorch, gpu\]'):
        CostModel(latency_table=table, device='gpu').stage_latency(dict(model='tiny'), 'r.npz')
    with pytest.raises(ValueError, match='r.npz does not name its model'):
        pt.stage_latency({}, 'r.npz')


@pytest.mark.parametrize('kw, match', [
    (dict(kind='flops'), "cost='flops' is unknown"),
    (dict(kind='latency'), "cost='latency' needs a latency table"),
    (dict(batch_size=0), 'batch_size=0 must be a whole number >= 1'),
    (dict(batch_size=2.5), 'batch_size=2.5 must be a whole number >= 1'),
])
def test_bad_values_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        CostModel(**kw)
