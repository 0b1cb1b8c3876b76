"""No tool overwrites a user's file unless asked, and none writes onto its input.

Each case: the existing file is left byte for byte as it was, the error names
it and says how to replace it; with ``overwrite`` the tool writes; an output
equal to an input is refused even with ``overwrite``.
"""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from tinysaver_mm.apis.benchmark import CSV_COLUMNS, read_rows
from tinysaver_mm.apis.calibrate import calibrate
from tinysaver_mm.apis.studies import guarantee_report, multistage_report
from tinysaver_mm.utils import OutputExistsError, check_outputs, publish_checkpoint
from tinysaver_mm.testing.cls_records import pair
from tinysaver_mm.utils.report import merge_csv

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _existing(path, text='user data\n'):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def _unchanged(path, text='user data\n'):
    with open(path) as f:
        return f.read() == text


# --- the shared helper ---------------------------------------------------------------

def test_helper_refuses_existing_and_self_writes(tmp_path):
    a, b = _existing(tmp_path / 'a'), str(tmp_path / 'new')
    check_outputs([b, None], inputs=[a])               # new files: fine
    with pytest.raises(OutputExistsError, match=r"exist already: \['.*a'\].*--overwrite"):
        check_outputs([b, a])
    check_outputs([a], overwrite=True)
    for out in (a, osp.join(str(tmp_path), '.', 'a')):  # the same file by another name
        with pytest.raises(ValueError, match='never writes onto its own input'):
            check_outputs([out], overwrite=True, inputs=[a])
    with pytest.raises(OutputExistsError, match='--force'):
        check_outputs([a], flag='--force')


# --- calibrate: JSON, and the CSV/PNG beside it ---------------------------------------

@pytest.mark.parametrize('which', ['cal.json', 'cal_curve.csv', 'cal.png'])
def test_calibrate_refuses_each_existing_output(tmp_path, which):
    s, b = pair(tmp_path)
    existing = _existing(tmp_path / which)
    out = str(tmp_path / 'cal.json')
    with pytest.raises(OutputExistsError, match=which):
        calibrate(s, b, 'drop', epsilon=0.01, out=out)
    assert _unchanged(existing)
    assert [osp.exists(tmp_path / f) for f in ('cal.json', 'cal_curve.csv', 'cal.png')
            ].count(True) == 1                           # nothing else was written
    r = calibrate(s, b, 'drop', epsilon=0.01, out=out, overwrite=True)
    assert json.load(open(out))['threshold'] == r['threshold']


def test_calibrate_never_writes_onto_its_records(tmp_path):
    s, b = pair(tmp_path)
    before = open(s, 'rb').read()
    with pytest.raises(ValueError, match='own input'):
        calibrate(s, b, 'drop', epsilon=0.01, out=s, overwrite=True)
    assert open(s, 'rb').read() == before


def test_calibrate_tool_flag(tmp_path):
    s, b = pair(tmp_path)
    out = _existing(tmp_path / 'cal.json')
    cmd = [sys.executable, osp.join(ROOT, 'tools/calibrate.py'), s, b, '--target', 'exit',
           '--exit-ratio', '0.5', '--out', out]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path))
    assert p.returncode != 0 and 'exist already' in p.stderr and '--overwrite' in p.stderr
    assert _unchanged(out)
    p = subprocess.run(cmd + ['--overwrite'], capture_output=True, text=True, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert json.load(open(out))['target'] == 'exit'


# --- reports writing fixed result files -------------------------------------------------

def test_reports_refuse_existing_results(tmp_path):
    s, b = pair(tmp_path)
    out = _existing(tmp_path / 'r.json')
    with pytest.raises(OutputExistsError, match='r.json'):
        guarantee_report(s, b, s, b, 0.02, 0.1, n_splits=5, out=out)
    with pytest.raises(OutputExistsError, match='r.json'):
        multistage_report({'saver': s, 'mid': s, 'base': b}, {'saver': s, 'mid': s, 'base': b},
                          out=out)
    assert _unchanged(out)
    guarantee_report(s, b, s, b, 0.02, 0.1, n_splits=5, out=out, overwrite=True)
    assert 'threshold' in json.load(open(out))


# --- publish_checkpoint ----------------------------------------------------------------

def _training_ckpt(path):
    torch.save({'meta': {'epoch': 2}, 'state_dict': {'w': torch.ones(2)},
                'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1}]}}, path)
    return str(path)


def test_publish_refuses_existing_destination_and_its_source(tmp_path):
    src = _training_ckpt(tmp_path / 'epoch_2.pth')
    dst = _existing(tmp_path / 'w.pth')
    with pytest.raises(OutputExistsError, match='w.pth'):
        publish_checkpoint(src, dst)
    assert _unchanged(dst)
    for overwrite in (False, True):     # in place would strip the optimizer state
        with pytest.raises(ValueError, match='own input'):
            publish_checkpoint(src, src, overwrite)
    assert 'optimizer' in torch.load(src, weights_only=True)
    publish_checkpoint(src, dst, overwrite=True)
    assert set(torch.load(dst, weights_only=True)) == {'state_dict', 'meta'}


def test_publish_tool_flag(tmp_path):
    src = _training_ckpt(tmp_path / 'epoch_2.pth')
    dst = _existing(tmp_path / 'w.pth')
    cmd = [sys.executable, osp.join(ROOT, 'tools/publish_checkpoint.py'), src, dst]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode != 0 and 'exist already' in p.stderr
    assert subprocess.run(cmd + ['--overwrite'], capture_output=True).returncode == 0
    p = subprocess.run([sys.executable, osp.join(ROOT, 'tools/publish_checkpoint.py'), src,
                        src, '--overwrite'], capture_output=True, text=True)
    assert p.returncode != 0 and 'own input' in p.stderr
    assert 'optimizer' in torch.load(src, weights_only=True)


# --- records ---------------------------------------------------------------------------

def test_record_refuses_an_out_dir_holding_its_records(tmp_path):
    from tinysaver_mm.apis import load_cfg, record
    cfg_path = osp.join(ROOT, 'configs/fashion_mnist/resnet18-w2s2_fmnist.py')
    cfg = load_cfg(cfg_path, {'val_dataloader.dataset.indices': 8})
    existing = _existing(tmp_path / 'resnet18-w2s2_fmnist_val.npz')
    with pytest.raises(OutputExistsError, match='resnet18-w2s2_fmnist_val.npz'):
        record(cfg, None, 'val', out_dir=str(tmp_path), config_path=cfg_path)
    assert _unchanged(existing)
    written = record(cfg, None, 'val', out_dir=str(tmp_path), config_path=cfg_path,
                     overwrite=True)
    assert written == [existing] and np.load(existing)['labels'].shape == (8, )


def test_det_record_refuses_existing_records(tmp_path):
    pytest.importorskip('mmdet')
    from tinysaver_mm.apis import load_cfg, record_detections
    cfg_path = osp.join(ROOT, 'configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
    existing = _existing(tmp_path / 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_val_det.npz')
    with pytest.raises(OutputExistsError, match='fmnist-det_val_det.npz'):
        record_detections(load_cfg(cfg_path), 'val', str(tmp_path), config_path=cfg_path)
    assert _unchanged(existing)


# --- train_evaluator -------------------------------------------------------------------

@pytest.mark.parametrize('which', ['ev.pth', 'sum.json', 'sum.png'])
def test_train_evaluator_refuses_existing_outputs(tmp_path, which):
    pytest.importorskip('mmdet')
    from tinysaver_mm.apis import train_evaluator
    existing = _existing(tmp_path / which)
    with pytest.raises(OutputExistsError, match=which):
        # the check comes before the records are read: no records needed
        train_evaluator(str(tmp_path / 'rec.npz'), str(tmp_path / 'ev.pth'),
                        results=str(tmp_path / 'sum.json'))
    assert _unchanged(existing)


def test_train_evaluator_never_writes_onto_its_records(tmp_path):
    pytest.importorskip('mmdet')
    from tinysaver_mm.apis import train_evaluator
    rec = _existing(tmp_path / 'rec.npz')
    for kw in (dict(out=rec), dict(out=str(tmp_path / 'ev.pth'), results=rec)):
        with pytest.raises(ValueError, match='own input'):
            train_evaluator(rec, overwrite=True, **kw)
    assert _unchanged(rec)


# --- test --out, the demo's and the detection report's result files -------------------

def test_run_test_refuses_existing_out_before_testing(tmp_path):
    from tinysaver_mm.apis import load_cfg, run_test
    cfg_path = osp.join(ROOT, 'configs/fashion_mnist/resnet18-w2s2_fmnist.py')
    out = _existing(tmp_path / 'preds.pkl')
    with pytest.raises(OutputExistsError, match='preds.pkl'):
        run_test(load_cfg(cfg_path, work_dir=str(tmp_path / 'w')), None, out)
    assert _unchanged(out)
    with pytest.raises(ValueError, match='own input'):
        run_test(load_cfg(cfg_path, work_dir=str(tmp_path / 'w')), None, cfg_path, True)


def test_demo_refuses_existing_results(tmp_path):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        from demo_fashion_mnist import run_fashion_mnist_demo
    finally:
        sys.path.pop(0)
    out = _existing(tmp_path / 'demo.json')
    with pytest.raises(OutputExistsError, match='demo.json'):
        run_fashion_mnist_demo(out=out)
    assert _unchanged(out)


def test_det_report_metric_refuses_existing_report(tmp_path):
    pytest.importorskip('mmdet')
    from tinysaver_mm.evaluation.metrics import TinySaverDetReport
    ann = _existing(tmp_path / 'ann.json', '{}')
    out = _existing(tmp_path / 'report.json')
    with pytest.raises(OutputExistsError, match='overwrite=True'):
        TinySaverDetReport(ann, out_file=out)
    assert _unchanged(out)
    TinySaverDetReport(ann, out_file=out, overwrite=True)
    with pytest.raises(ValueError, match='own input'):
        TinySaverDetReport(ann, out_file=ann, overwrite=True)


# --- benchmark CSVs: merged by key, but never into a CSV of other columns --------------

def test_benchmark_csv_of_other_columns_is_refused(tmp_path):
    other = _existing(tmp_path / 'other.csv', 'name,score\nx,1\n')
    row = {c: 1.0 for c in CSV_COLUMNS}
    row.update(pair='p', batch_size=1)
    with pytest.raises(ValueError, match=r"other.csv.*lacks the columns \['pair'"):
        merge_csv([row], other, CSV_COLUMNS, key=('pair', 'batch_size'))
    assert _unchanged(other, 'name,score\nx,1\n')
    with pytest.raises(ValueError, match=r"other.csv.*has \['name', 'score'\]"):
        read_rows(other)
    # a CSV of this table with one extra column is refused too, naming it
    extra = _existing(tmp_path / 'extra.csv', ','.join(CSV_COLUMNS + ['note']) + '\n')
    with pytest.raises(ValueError, match=r"has \['note'\]"):
        read_rows(extra)
    good = str(tmp_path / 'good.csv')
    merge_csv([row], good, CSV_COLUMNS, key=('pair', 'batch_size'))
    assert read_rows(good)[0]['batch_size'] == 1
