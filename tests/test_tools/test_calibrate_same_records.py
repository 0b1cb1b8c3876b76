"""tools/calibrate.py refuses one model's records given as two stages (issue 25, case 12)."""
import os.path as osp
import shutil
import sys

import pytest
from host_entry_helpers import ROOT, run

from tinysaver_mm.testing import cls_records

CALIBRATE = osp.join(ROOT, 'tools', 'calibrate.py')
TARGET = ['--target', 'drop', '--epsilon', '0.01']


def test_calibrate_refuses_one_file_twice(tmp_path):
    """The API tools/calibrate.py calls, in-process (the CLI run is the slow test below)."""
    from tinysaver_mm.apis.calibrate import calibrate, calibrate_exits
    saver, base = cls_records.pair(tmp_path)
    out = str(tmp_path / 'cal.json')
    with pytest.raises(ValueError, match=f"The record file '{saver}' is given twice"):
        calibrate(saver, saver, 'drop', epsilon=0.01, out=out)
    with pytest.raises(ValueError, match='is given twice'):
        calibrate(saver, osp.relpath(saver), 'drop', epsilon=0.01, out=out)
    with pytest.raises(ValueError, match=f"'{base}' is given twice"):
        calibrate_exits([saver, base, base], 'drop', epsilon=0.01, out=out)
    assert not osp.exists(out)
    assert calibrate(saver, base, 'drop', epsilon=0.01, out=out)['macs_saved_pct'] > 0


@pytest.mark.slow
def test_same_file_twice_is_refused_naming_it(tmp_path):
    saver, base = cls_records.pair(tmp_path)
    out = str(tmp_path / 'cal.json')
    proc = run(sys.executable, CALIBRATE, saver, saver, *TARGET, '--out', out, timeout=300)
    assert proc.returncode != 0
    assert f"The record file '{saver}' is given twice" in proc.stderr
    assert 'MACs saved' not in proc.stdout and not osp.exists(out)
    # the same file under another spelling of its path, and among 3+ records
    other = osp.relpath(saver, ROOT)
    proc = run(sys.executable, CALIBRATE, saver, other, *TARGET, '--out', out, timeout=300)
    assert proc.returncode != 0 and 'is given twice' in proc.stderr and other in proc.stderr
    proc = run(sys.executable, CALIBRATE, saver, base, base, *TARGET, '--out', out, timeout=300)
    assert proc.returncode != 0 and f"'{base}' is given twice" in proc.stderr
    # the pair itself calibrates, and saves MACs
    proc = run(sys.executable, CALIBRATE, saver, base, *TARGET, '--out', out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    saved = float(proc.stdout.split('MACs saved ')[1].split('%')[0])
    assert saved > 0


def test_a_copy_of_one_models_records_is_refused(tmp_path):
    fp = 'ab' * 32
    saver, _ = cls_records.pair(tmp_path, saver_meta=dict(fingerprint=fp))
    copy = str(tmp_path / 'copy.npz')
    shutil.copy(saver, copy)
    proc = run(sys.executable, CALIBRATE, saver, copy, *TARGET, '--out',
               str(tmp_path / 'cal.json'), timeout=300)
    assert proc.returncode != 0
    assert f"'{saver}' and '{copy}' record the same weights (fingerprint abababababab" \
        in proc.stderr
