"""Saver selection: delta C_tr ranking on records, test validation, zoo shortlist."""
import csv
import json
import math
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from tinysaver_mm.apis.select_saver import (SELECTION_COLUMNS, select_saver,
                                            zoo_prefilter)
from tinysaver_mm.core import CONFIDENCE_RULES, confidence_scores, delta_ctr
from tinysaver_mm.utils import OutputExistsError

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
K = 10
BASE_MACS = 4_000_000
# four savers of increasing cost and quality: (share of base MACs, top-1)
SAVERS = [(0.02, 0.50), (0.05, 0.68), (0.15, 0.82), (0.40, 0.90)]


def _write(path, correct, conf, labels, split, config, macs, seed):
    """A record file exactly like tools/record.py writes (one 'model' stage)."""
    rng = np.random.default_rng(seed)
    n = labels.size
    wrong = (labels + rng.integers(1, K, n)) % K
    pred = np.where(correct, labels, wrong)
    probs = np.repeat(((1 - conf) / (K - 1))[:, None], K, axis=1)
    probs[np.arange(n), pred] = conf
    probs = probs.astype(np.float32)
    fields = {f'conf_{r}': confidence_scores(torch.from_numpy(probs), r).numpy()
              for r in CONFIDENCE_RULES}
    meta = dict(config=config, checkpoint=None, split=split, aug=split == 'train',
                dataset=dict(type='Synthetic', data_root=None, split=split, indices='None'),
                num_samples=n, stage='model', num_classes=K, macs_per_img=int(macs))
    np.savez_compressed(path, probs=probs.astype(np.float16), pred=probs.argmax(1),
                        labels=labels, sample_idx=np.arange(n), meta=json.dumps(meta),
                        **fields)
    return str(path)


def _split(tmp_path, split, n, seed):
    """Base and saver records of one split from a known generative model.

    The base is right with probability 0.9. Saver i is right with probability
    ``SAVERS[i][1]``; its top-1 probability is high (Beta(6, 1)) when right
    and low (Beta(1.5, 3)) when wrong, rounded to 1/200 so that ties occur.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    base_ok = rng.random(n) < 0.9
    floor = 1.0 / K + 0.01
    base_conf = floor + (1 - floor) * rng.beta(4, 1, n)
    base = _write(tmp_path / f'base_{split}.npz', base_ok, base_conf, labels, split,
                  'configs/zoo/base_r50.py', BASE_MACS, seed + 100)
    savers = []
    for i, (share, top1) in enumerate(SAVERS):
        ok = rng.random(n) < top1
        conf = np.where(ok, rng.beta(6, 1, n), rng.beta(1.5, 3, n))
        conf = np.round(floor + (1 - floor) * conf, 3)
        savers.append(_write(tmp_path / f's{i}_{split}.npz', ok, conf, labels, split,
                             f'configs/zoo/saver{i}_x.py', share * BASE_MACS, seed + i))
    return base, savers


@pytest.fixture
def records(tmp_path):
    base_tr, savers_tr = _split(tmp_path, 'train', 3000, 0)
    base_te, savers_te = _split(tmp_path, 'test', 2000, 1)
    return dict(base_train=base_tr, saver_train=savers_tr, base_test=base_te,
                saver_test=savers_te)


def _arrays(saver, base, rule='max_prob'):
    with np.load(saver) as s, np.load(base) as b:
        return (s[f'conf_{rule}'], s['pred'] == s['labels'], b['pred'] == b['labels'],
                json.loads(str(s['meta']))['macs_per_img'],
                json.loads(str(b['meta']))['macs_per_img'])


def _brute_saved_pct(saver, base, max_drop):
    """Largest exit ratio with drop <= max_drop, looping over thresholds."""
    conf, s_ok, b_ok, ms, mb = _arrays(saver, base)
    best = None
    for t in sorted(set(conf.tolist()) | {1.0}):
        ex = conf >= t
        if np.where(ex, s_ok, b_ok).mean() >= b_ok.mean() - max_drop - 1e-12:
            best = max(best or 0.0, ex.mean())
    return math.nan if best is None else 100 * (best - ms / mb)


def _read_csv(path):
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_ranking_metric_test_saving_plot_and_spearman(records, tmp_path):
    out = str(tmp_path / 'res' / 'selection.csv')
    res = select_saver(**records, max_drop=0.005, out=out)
    header, rows = _read_csv(out)
    assert header[:9] == ['saver', 'gmacs_saver', 'delta_ctr', 'test_macs_saved_pct',
                          'c', 'exit_ratio_tr', 'threshold_tr', 'top1_saver_test', 'rank']
    assert header == list(SELECTION_COLUMNS)
    assert len(rows) == len(res['rows']) == 4
    assert {r['saver'] for r in rows} == {f'saver{i}_x' for i in range(4)}
    assert [int(r['rank']) for r in rows] == [1, 2, 3, 4]
    deltas = [float(r['delta_ctr']) for r in rows]
    assert deltas == sorted(deltas)
    for r, ret in zip(rows, res['rows']):
        i = int(r['saver'][len('saver')])
        conf, s_ok, b_ok, ms, mb = _arrays(records['saver_train'][i], records['base_train'])
        want = delta_ctr(conf, s_ok, b_ok, ms, mb)
        assert ret['delta_ctr'] == pytest.approx(want['delta_ctr'], abs=1e-12)
        assert float(r['delta_ctr']) == pytest.approx(want['delta_ctr'], rel=1e-5, abs=1e-6)
        assert float(r['c']) == pytest.approx(SAVERS[i][0], rel=1e-5)
        assert float(r['gmacs_saver']) == pytest.approx(SAVERS[i][0] * BASE_MACS / 1e9)
        want_saved = _brute_saved_pct(records['saver_test'][i], records['base_test'], 0.005)
        assert ret['test_macs_saved_pct'] == pytest.approx(want_saved, abs=1e-9)
        assert float(r['test_macs_saved_pct']) == pytest.approx(want_saved, rel=1e-5)
        s_ok_test = _arrays(records['saver_test'][i], records['base_test'])[1]
        assert float(r['top1_saver_test']) == pytest.approx(100 * s_ok_test.mean(), rel=1e-5)
    assert osp.getsize(res['png']) > 0 and res['png'] == str(tmp_path / 'res' / 'selection.png')
    rho, p = spearmanr(deltas, [float(r['test_macs_saved_pct']) for r in rows])
    assert res['spearman_rho'] == pytest.approx(rho) and res['spearman_p'] == pytest.approx(p)
    assert res['spearman_rho'] < 0  # the generative model: lower delta C_tr saves more


def test_train_records_only_leave_test_columns_empty(records, tmp_path):
    out = str(tmp_path / 'sel.csv')
    res = select_saver(records['base_train'], records['saver_train'][:2], rule='margin',
                       out=out)
    _, rows = _read_csv(out)
    assert res['spearman_rho'] is None and res['spearman_p'] is None
    assert all(r['test_macs_saved_pct'] == '' and r['top1_saver_test'] == '' for r in rows)
    assert osp.getsize(osp.join(tmp_path, 'sel.png')) > 0
    # a second run is refused unless asked; asked, it replaces the table
    # rather than appending to it
    before = open(out).read()
    with pytest.raises(OutputExistsError, match='sel.csv'):
        select_saver(records['base_train'], records['saver_train'][:1], out=out)
    assert open(out).read() == before
    select_saver(records['base_train'], records['saver_train'][:1], out=out, overwrite=True)
    assert len(_read_csv(out)[1]) == 1


@pytest.mark.parametrize('change, match', [
    (dict(saver_train=[]), 'saver_train is empty'),
    (dict(saver_test=['a.npz']), 'saver_test has 1 records but saver_train has 4'),
    (dict(base_test=None), 'base_test=None'),
    (dict(max_drop=0.0), 'max_drop=0.0'),
    (dict(max_drop=1.5), 'max_drop=1.5'),
    (dict(max_drop='high'), "max_drop='high'"),
    (dict(rule='top3'), "'top3'"),
])
def test_bad_input_is_refused_naming_the_value(records, tmp_path, change, match):
    args = dict(records, out=str(tmp_path / 'x.csv'), **change)
    with pytest.raises(ValueError, match=match):
        select_saver(**args)
    assert not osp.exists(tmp_path / 'x.csv')


def test_misaligned_records_are_refused(records, tmp_path):
    with pytest.raises(ValueError, match='split'):
        select_saver(records['base_train'], records['saver_test'], out=str(tmp_path / 'x.csv'))


def test_zoo_prefilter_resnet50():
    rows = zoo_prefilter('mmpretrain::resnet/resnet50_8xb32_in1k.py', top=15)
    assert 0 < len(rows) <= 15
    assert all(r['gflops'] < 4.12 and r['c'] < 1 for r in rows)
    est = [r['est_delta_ctr'] for r in rows]
    assert est == sorted(est)
    r = rows[0]
    want = r['c'] - min(1.0, r['top1'] / 76.55 * r['top1'] / 100)
    assert r['est_delta_ctr'] == pytest.approx(want)
    same = zoo_prefilter('resnet50_8xb32_in1k', candidates=['resnet18_8xb32_in1k'])
    assert [x['name'] for x in same] == ['resnet18_8xb32_in1k']
    assert same[0]['c'] == pytest.approx(1.82 / 4.12, rel=1e-2)


def test_zoo_prefilter_unknown_base_or_candidate():
    with pytest.raises(ValueError, match='resnet9000'):
        zoo_prefilter('mmpretrain::resnet/resnet9000.py')
    with pytest.raises(ValueError, match='nope'):
        zoo_prefilter('resnet50_8xb32_in1k', candidates=['nope'])


def test_cli_prints_tables(records, tmp_path, monkeypatch, capsys):
    tool = osp.join(ROOT, 'tools', 'select_saver.py')
    argv = [tool, '--base-train', records['base_train'], '--savers-train',
            *records['saver_train'], '--base-test', records['base_test'], '--savers-test',
            *records['saver_test'], '--out', str(tmp_path / 'cli.csv')]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(tool, run_name='__main__')
    text = capsys.readouterr().out
    assert 'Spearman rho' in text and 'saver3_x' in text
    monkeypatch.setattr(sys, 'argv', [tool, '--zoo-base',
                                      'mmpretrain::resnet/resnet50_8xb32_in1k.py', '--top', '3'])
    runpy.run_path(tool, run_name='__main__')
    text = capsys.readouterr().out
    assert 'ESTIMATE from published metafile accuracy/FLOPs, not ΔC_tr' in text
    assert len(text.strip().splitlines()) == 2 + 3
