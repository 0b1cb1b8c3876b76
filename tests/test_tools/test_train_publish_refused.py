"""tools/train.py --publish onto an existing file: one line naming the file and the fix,
before any training, and the file untouched."""
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_republish_without_overwrite_is_one_line(tmp_path):
    dst = tmp_path / 'saver.pth'
    dst.write_bytes(b'weights a user keeps')
    proc = subprocess.run([sys.executable, 'tools/train.py',
                           'configs/fashion_mnist/resnet18-w4s2_fmnist.py', '--publish', str(dst),
                           '--work-dir', str(tmp_path / 'work')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert str(dst) in proc.stderr and '--overwrite' in proc.stderr
    assert dst.read_bytes() == b'weights a user keeps'
    assert not osp.exists(tmp_path / 'work')  # no run was started
