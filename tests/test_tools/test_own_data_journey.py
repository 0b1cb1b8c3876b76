"""A user's own image folder from tools/train.py to tools/test.py, through the README's commands.

The test builds a small image-folder dataset (Fashion-MNIST glyphs re-saved as
PNG files, one folder per class and split), copies the shipped configs, edits
the one dataset file as the README says (data root, class count, the mean/std
that tools/dataset_stats.py prints), then runs the README's commands: stats,
train + publish both stages, record the holdout, calibrate, test. Every figure
is checked against an independent reference: the stats against numpy over the
PNG files, the records' labels against the folder names, tools/test.py's
accuracy and exit ratio against the cascade computed from the test records.
"""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
FMNIST = osp.join(ROOT, 'data', 'fashion_mnist')
CLASSES = {0: 'a_tshirt', 1: 'b_trouser', 5: 'c_sandal', 8: 'd_bag'}
SPLITS = {'train': 150, 'val': 30, 'holdout': 60, 'test': 60}  # images per class
CASCADE = 'tinysaver_resnet18-w4s2_resnet18-w16_grey'


def run(cwd, *args):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', args[0]), *args[1:]],
                          cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def edit(path: str, **values) -> None:
    """Replace ``name = ...`` lines of a config as a user would."""
    text = open(path).read()
    for name, value in values.items():
        text, n = re.subn(rf'^{name} = .*$', f'{name} = {value}', text, flags=re.M)
        assert n == 1, name
    open(path, 'w').write(text)


@pytest.mark.slow
def test_image_folder_train_record_calibrate_test(tmp_path):
    if not osp.isfile(osp.join(FMNIST, 'train-images-idx3-ubyte')):
        pytest.skip('Fashion-MNIST is not in data/fashion_mnist (tools/install.sh)')
    from tinysaver_mm.datasets.fmnist_det import read_idx
    from tinysaver_mm.testing import write_image_folder
    images, labels = read_idx(osp.join(FMNIST, 'train-images-idx3-ubyte'),
                              osp.join(FMNIST, 'train-labels-idx1-ubyte'))
    files = write_image_folder(str(tmp_path / 'my_images'), list(CLASSES.values()), SPLITS,
                               source=(images, labels, list(CLASSES)))
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    dataset_cfg = str(tmp_path / 'configs' / 'custom' / '_base_' / 'image_folder.py')
    edit(dataset_cfg, data_root=repr(str(tmp_path / 'my_images')), num_classes=len(CLASSES))
    saver_cfg, base_cfg, cascade_cfg = (f'configs/custom/{n}.py' for n in (
        'resnet18-w4s2_grey', 'resnet18-w16_grey', CASCADE))

    # 1. mean/std, as numpy computes them over the training PNG files
    run(tmp_path, 'dataset_stats.py', saver_cfg, '--out', 'stats.json')
    stats = json.load(open(tmp_path / 'stats.json'))
    pixels = np.stack([cv2.imread(p, cv2.IMREAD_GRAYSCALE) for p, _ in files['train']])
    assert stats['num_images'] == len(files['train']) and stats['channels'] == 1
    assert stats['classes'] == sorted(CLASSES.values())
    assert stats['mean'][0] == pytest.approx(pixels.mean(), abs=1e-3)
    assert stats['std'][0] == pytest.approx(pixels.std(), abs=1e-3)
    edit(dataset_cfg, data_preprocessor=f'dict(num_classes=num_classes, mean={stats["mean"]}, '
         f'std={stats["std"]})')

    # 2. train both stages; the best epoch on val is published to a stable path
    for cfg, name in ((saver_cfg, 'resnet18-w4s2_grey'), (base_cfg, 'resnet18-w16_grey')):
        out = run(tmp_path, 'train.py', cfg, '--publish', f'checkpoints/custom/{name}.pth',
                  '--cfg-options', 'train_cfg.max_epochs=3')
        best = re.search(r'best checkpoint: (\S+)', out).group(1)
        assert re.search(r'best_accuracy_top1_epoch_[123]\.pth$', best), out
        assert osp.isfile(tmp_path / 'checkpoints' / 'custom' / f'{name}.pth')

    # 3. record holdout and test; labels are the sorted class folders' indices
    for split in ('holdout', 'test'):
        run(tmp_path, 'record.py', cascade_cfg, '--split', split, '--out-dir', 'rec')
    rec = {(s, r): np.load(tmp_path / 'rec' / f'{CASCADE}_{s}_{r}.npz', allow_pickle=True)
           for s in ('holdout', 'test') for r in ('saver', 'base')}
    for split in ('holdout', 'test'):
        assert rec[split, 'saver']['labels'].tolist() == [lab for _, lab in files[split]]
        meta = json.loads(str(rec[split, 'base']['meta']))
        assert meta['dataset']['data_prefix'] == split
        assert meta['dataset']['data_root'] == str(tmp_path / 'my_images')

    # 4. calibrate on the holdout
    run(tmp_path, 'calibrate.py', f'rec/{CASCADE}_holdout_saver.npz',
        f'rec/{CASCADE}_holdout_base.npz', '--target', 'drop', '--epsilon', '0.02',
        '--out', 'cal.json')
    cal = json.load(open(tmp_path / 'cal.json'))

    # 5. test with the calibration; the reference is the cascade computed from the test records
    out = run(tmp_path, 'test.py', cascade_cfg, '--cfg-options', 'model.threshold=cal.json',
              '--work-dir', 'work')
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out).group(1))
    exit_ratio = float(re.search(r'tinysaver/exit_ratio: ([\d.]+)', out).group(1))
    saver, base = rec['test', 'saver'], rec['test', 'base']
    exits = saver['conf_max_prob'] >= cal['threshold']
    pred = np.where(exits, saver['pred'], base['pred'])
    n = len(pred)
    # the live forward may put one image exactly at the threshold on the other side
    assert abs(exit_ratio - exits.mean()) <= 1 / n + 1e-9
    assert abs(top1 - 100 * (pred == saver['labels']).mean()) <= 100 / n + 1e-6
