"""End to end: tools/test.py with TinySaverDriftHook on a corrupted Fashion-MNIST copy warns in the log."""
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CASCADE = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
NAME = 'tinysaver_resnet18-w4s2_resnet18-w16_fmnist'


def tool(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_tools_test_warns_on_inverted_images_and_sends_them_to_base(tmp_path):
    if not osp.isfile(osp.join(ROOT, 'data', 'fashion_mnist', 't10k-images-idx3-ubyte')):
        pytest.skip('Fashion-MNIST is not in data/fashion_mnist (tools/install.sh)')
    rec = tmp_path / 'rec'
    tool('tools/record.py', CASCADE, '--split', 'holdout', '--out-dir', str(rec))
    cal = str(tmp_path / 'cal.json')
    tool('tools/calibrate.py', str(rec / f'{NAME}_holdout_saver.npz'),
         str(rec / f'{NAME}_holdout_base.npz'), '--target', 'drop', '--epsilon', '0.001',
         '--out', cal)
    shift = tmp_path / 'shift'
    tool('tools/make_fmnist_shift.py', '--out', str(shift))
    cfg = tmp_path / 'drift_cfg.py'
    cfg.write_text(f"_base_ = ['{CASCADE}']\n"
                   f"model = dict(threshold='{cal}')\n"
                   f"test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict("
                   f"data_root='{shift / 'inversion'}', indices=1000))\n"
                   f"custom_hooks = [dict(type='TinySaverMACsHook'), dict(type="
                   f"'TinySaverDriftHook', calibration='{cal}', level=0.01, on_drift='base')]\n")
    proc = tool('tools/test.py', str(cfg), '--work-dir', str(tmp_path / 'work'))
    log = proc.stdout + proc.stderr
    assert log.count('TinySaver drift detected at level 0.01') == 1
    assert 'tinysaver/drift_detected: 1.0' in log
    calib = json.load(open(cal))
    assert calib['drift']['count'] == 5000
