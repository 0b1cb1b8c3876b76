"""tools/test.py --drop-vs: the base alone's predictions (--out) against the cascade's,
on the same 300 Fashion-MNIST test images, checked against the pairing done by hand."""
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from tinysaver_mm.core import paired_drop_interval

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUBSET = ['test_dataloader.dataset.indices=300', 'test_dataloader.num_workers=0',
          'test_dataloader.persistent_workers=False']


def _test(*args):
    proc = subprocess.run([sys.executable, 'tools/test.py', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _right(path):
    with open(path, 'rb') as f:
        return {int(s['sample_idx']): int(s['pred_label'][0]) == int(s['gt_label'][0])
                for s in pickle.load(f)}


@pytest.mark.slow
def test_drop_vs_the_base_alone(tmp_path):
    pytest.importorskip('mmpretrain')
    if not osp.isfile(osp.join(ROOT, 'data', 'fashion_mnist', 't10k-images-idx3-ubyte')):
        pytest.skip('Fashion-MNIST is not in data/fashion_mnist (tools/install.sh)')
    base_pkl, casc_pkl = str(tmp_path / 'base.pkl'), str(tmp_path / 'casc.pkl')
    _test('configs/fashion_mnist/resnet18-w16_fmnist.py',
          'checkpoints/fashion_mnist/resnet18-w16_fmnist.pth', '--out', base_pkl,
          '--work-dir', str(tmp_path / 'wb'), '--cfg-options', *SUBSET)
    out = _test('configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py',
                '--out', casc_pkl, '--drop-vs', base_pkl, '--work-dir', str(tmp_path / 'wc'),
                '--cfg-options', *SUBSET)
    base, casc = _right(base_pkl), _right(casc_pkl)
    assert sorted(base) == sorted(casc) and len(base) == 300
    keys = sorted(base)
    ref = paired_drop_interval(np.array([base[k] for k in keys]), np.array([casc[k] for k in keys]))
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out).group(1))
    assert top1 == pytest.approx(100 * ref['new_top1'], abs=1e-4)
    m = re.search(r'top-1 drop vs \S+: ([+-][\d.]+) points, 95 % interval \[([+-][\d.]+), '
                  r'([+-][\d.]+)\].*?(\d+) images; (\d+) lost, (\d+) gained', out)
    assert m, out
    assert tuple(float(g) for g in m.groups()[:3]) == tuple(
        round(100 * ref[k], 2) for k in ('drop', 'low', 'high'))
    assert tuple(int(g) for g in m.groups()[3:]) == (300, ref['lost'], ref['gained'])


def test_a_bad_reference_is_refused_before_the_run(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/test.py',
                           'configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py',
                           '--drop-vs', str(tmp_path / 'none.pkl')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'none.pkl' in proc.stderr and 'does not exist' in proc.stderr
