"""Records are refused when they do not line up; calibrate meets each target."""

import numpy as np
import pytest

from tinysaver_mm.apis import check_aligned, load_records
from tinysaver_mm.apis.calibrate import calibrate
from tinysaver_mm.testing.cls_records import pair, write


@pytest.mark.parametrize('target, kw', [
    ('drop', dict(epsilon=0.01)), ('guarantee', dict(epsilon=0.02, delta=0.1)),
    ('exit', dict(exit_ratio=0.4)), ('gmacs', dict(max_gmacs=0.012))])
def test_each_target_is_met_on_the_records(tmp_path, target, kw):
    s, b = pair(tmp_path)
    r = calibrate(s, b, target, out=str(tmp_path / 'cal.json'), **kw)
    S, B = load_records(s), load_records(b)
    ex = S['conf_max_prob'] >= r['threshold']
    acc = np.where(ex, S['pred'] == S['labels'], B['pred'] == B['labels']).mean()
    assert r['exit_ratio'] == pytest.approx(ex.mean())
    assert r['top1'] == pytest.approx(100 * acc)
    gmacs = 0.001 + (1 - ex.mean()) * 0.02
    assert r['gmacs_cascade'] == pytest.approx(gmacs)
    if target == 'drop':
        assert acc >= (B['pred'] == B['labels']).mean() - 0.01
    if target == 'guarantee':
        assert r['drop_ucb'] <= 0.02
    if target == 'exit':
        assert ex.mean() >= 0.4
    if target == 'gmacs':
        assert gmacs <= 0.012 + 1e-12
    assert f'model.threshold={r["threshold"]!r}' in r['cfg_options']
    for suffix in ('.json', '_curve.csv', '.png'):
        assert (tmp_path / f'cal{suffix}').is_file()


@pytest.mark.parametrize('kw, match', [
    (dict(target='drop', epsilon=0), 'max_drop=0'),
    (dict(target='guarantee', epsilon=0.01, delta=1.5), '1.5'),
    (dict(target='guarantee', epsilon=0.01), '--delta'),
    (dict(target='fast'), "target 'fast'"),
    (dict(target='gmacs', max_gmacs=0.0001), 'infeasible'),
])
def test_bad_targets(tmp_path, kw, match):
    s, b = pair(tmp_path)
    with pytest.raises(ValueError, match=match):
        calibrate(s, b, out=str(tmp_path / 'c.json'), **kw)


def test_misaligned_records_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), 50)
    y = rng.integers(0, 5, 50)
    ref = load_records(write(tmp_path / 'a.npz', p, y, 1))
    cases = {
        'split': write(tmp_path / 'b.npz', p, y, 1, split='test'),
        'dataset': write(tmp_path / 'c.npz', p, y, 1, dataset=dict(type='Y')),
        'num_classes': write(tmp_path / 'd.npz', rng.dirichlet(np.ones(6), 50), y, 1),
        'order': write(tmp_path / 'e.npz', p, y, 1, order=np.arange(50)[::-1]),
        'labels': write(tmp_path / 'f.npz', p, (y + 1) % 5, 1),
    }
    for what, path in cases.items():
        with pytest.raises(ValueError, match=what if what != 'order' else 'order'):
            check_aligned({'ref': ref, what: load_records(path)})


def test_empty_and_missing_records(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/record.py'):
        load_records(str(tmp_path / 'none.npz'))
    empty = write(tmp_path / 'e.npz', np.zeros((0, 5)), np.zeros(0, dtype=int), 1)
    with pytest.raises(ValueError, match='empty'):
        load_records(empty)


def test_cli_infeasible_guarantee_is_one_line(tmp_path):
    """An unreachable guarantee is a fact about the records: one line, no traceback."""
    import subprocess
    import sys
    s, b = pair(tmp_path, n=100)
    out = subprocess.run([sys.executable, 'tools/calibrate.py', s, b, '--target', 'guarantee',
                          '--epsilon', '0.001', '--delta', '0.1',
                          '--out', str(tmp_path / 'cal.json')],
                         capture_output=True, text=True)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in out.stderr, out.stderr
    assert 'n=100' in lines[0] and 'records' in lines[0]
    assert not (tmp_path / 'cal.json').exists()


def test_records_of_two_folders_under_one_root_are_refused(tmp_path):
    """Two image folders under one data_root differ in data_prefix, which records keep."""
    from tinysaver_mm.apis.records import dataset_identity
    a = dataset_identity(dict(type='CustomDataset', data_root='data/mine', data_prefix='train'))
    b = dataset_identity(dict(type='CustomDataset', data_root='data/mine', data_prefix='val'))
    probs = np.full((4, 2), 0.5)
    labels = np.array([0, 1, 0, 1])
    s = write(tmp_path / 's.npz', probs, labels, 10, dataset=a)
    t = write(tmp_path / 't.npz', probs, labels, 20, dataset=b)
    with pytest.raises(ValueError, match="differ in dataset.*'val'"):
        check_aligned({'saver': load_records(s), 'base': load_records(t)})
    check_aligned({'saver': load_records(s), 'base': load_records(s)})
