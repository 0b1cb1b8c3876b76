"""tools/train.py says where the best checkpoint is and can publish it."""
import subprocess
import sys

import pytest
import torch

CFG = 'configs/fashion_mnist/resnet18-w2s2_fmnist.py'
SMALL = ['train_cfg.max_epochs=2', 'train_dataloader.dataset.indices=128',
         'val_dataloader.dataset.indices=64', 'train_dataloader.num_workers=0',
         'val_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.persistent_workers=False']


def _train(tmp_path, *extra):
    return subprocess.run([sys.executable, 'tools/train.py', CFG, '--work-dir', str(tmp_path / 'w'),
                           *extra, '--cfg-options', *SMALL],
                          capture_output=True, text=True)


@pytest.mark.slow
def test_train_prints_best_and_publishes_its_weights(tmp_path):
    dst = tmp_path / 'pub' / 'w2s2.pth'
    out = _train(tmp_path, '--publish', str(dst))
    assert out.returncode == 0, out.stderr[-2000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith('best checkpoint: ')][0]
    best = line.split(': ', 1)[1]
    assert 'best_accuracy_top1_epoch_' in best
    # the published weights are the best checkpoint's own
    src = torch.load(best, map_location='cpu', weights_only=False)['state_dict']
    pub = torch.load(dst, map_location='cpu', weights_only=False)['state_dict']
    assert src.keys() == pub.keys() and all(torch.equal(src[k], pub[k]) for k in src)
    # a second run does not replace the published file unless asked
    again = _train(tmp_path, '--publish', str(dst))
    assert again.returncode != 0 and '--overwrite' in again.stderr
