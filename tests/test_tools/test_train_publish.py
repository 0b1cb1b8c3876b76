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


def _train(tmp_path, *flags, options=()):
    return subprocess.run([sys.executable, 'tools/train.py', CFG, '--work-dir', str(tmp_path / 'w'),
                           *flags, '--cfg-options', *SMALL, *options],
                          capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize('save_best', [True, False])
def test_train_prints_best_and_publishes_its_weights(tmp_path, save_best):
    """With save_best: the best checkpoint; without (the zoo configs keep their
    last epoch): the last one, said to be so."""
    dst = tmp_path / 'pub' / 'w2s2.pth'
    options = ['default_hooks.checkpoint.save_best=accuracy/top1'] if save_best else []
    out = _train(tmp_path, '--publish', str(dst), options=options)
    assert out.returncode == 0, out.stderr[-2000:]
    label = 'best checkpoint: ' if save_best else 'last checkpoint (no save_best in the config): '
    line = [ln for ln in out.stdout.splitlines() if ln.startswith(label)][0]
    best = line.split(': ', 1)[1]
    assert ('best_accuracy_top1_epoch_' in best) == save_best
    assert save_best or best.endswith('epoch_2.pth')
    # the published weights are the best checkpoint's own
    src = torch.load(best, map_location='cpu', weights_only=False)['state_dict']
    pub = torch.load(dst, map_location='cpu', weights_only=False)['state_dict']
    assert src.keys() == pub.keys() and all(torch.equal(src[k], pub[k]) for k in src)
    # a second run does not replace the published file unless asked
    again = _train(tmp_path, '--publish', str(dst))
    assert again.returncode != 0 and '--overwrite' in again.stderr
