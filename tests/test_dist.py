"""tools/dist_test.sh with 2 CPU processes equals the single-process run."""
import os.path as osp
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CASCADE = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
KEYS = ('accuracy/top1', 'tinysaver/exit_ratio', 'tinysaver/gmacs_cascade',
        'tinysaver/macs_saved_pct')


def metrics_of(cmd, tmp):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    found = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(': ')
        if key in KEYS and key not in found:
            found[key] = float(value)
    assert set(found) == set(KEYS), proc.stdout[-2000:]
    return found


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
    # 2,001 images: odd, so the distributed sampler pads one and must drop it
    opts = ['--cfg-options', 'test_dataloader.dataset.indices=2001',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    one = metrics_of([osp.join(ROOT, '.venv', 'bin', 'python'), 'tools/test.py', CASCADE,
                      '--work-dir', str(tmp_path / 'one'), *opts], tmp_path)
    two = metrics_of(['bash', 'tools/dist_test.sh', CASCADE, 'none', '2',
                      '--work-dir', str(tmp_path / 'two'), *opts], tmp_path)
    assert one == two
