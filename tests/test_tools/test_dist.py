"""tools/dist_test.sh with 2 CPU processes equals the single-process run."""
import os.path as osp
import subprocess

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
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


@pytest.mark.slow
def test_dist_record_equals_single_process(tmp_path):
    import numpy as np

    from tinysaver_mm.apis import load_records
    model = osp.join(ROOT, 'configs', 'fashion_mnist', 'resnet18-w4s2_fmnist.py')
    ckpt = osp.join(ROOT, 'checkpoints', 'fashion_mnist', 'resnet18-w4s2_fmnist.pth')
    opts = ['--cfg-options', 'val_dataloader.dataset.indices=1001',
            'val_dataloader.num_workers=0']
    for cmd, out in ((['bash', 'tools/dist_record.sh', model, ckpt, '2'], 'two'),
                     ([osp.join(ROOT, '.venv', 'bin', 'python'), 'tools/record.py', model,
                       ckpt], 'one')):
        proc = subprocess.run(cmd + ['--split', 'val', '--out-dir', str(tmp_path / out),
                                     *opts], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
    a = load_records(str(tmp_path / 'two' / 'resnet18-w4s2_fmnist_val.npz'))
    b = load_records(str(tmp_path / 'one' / 'resnet18-w4s2_fmnist_val.npz'))
    assert len(a['labels']) == 1001
    for key in ('probs', 'pred', 'labels', 'sample_idx', 'conf_max_prob'):
        assert np.array_equal(a[key], b[key]), key
