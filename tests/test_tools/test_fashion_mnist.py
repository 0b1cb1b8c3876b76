"""End to end on real data: Fashion-MNIST, the shipped zoo, the tools."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CASCADE = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
DEMO_KEYS = {'saver_top1', 'base_top1', 'cascade_top1', 'exit_ratio', 'gmacs_saver',
             'gmacs_base', 'gmacs_cascade', 'macs_saved_pct', 'threshold'}


def tool(*args, check=True):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


@pytest.mark.parametrize('cascade', [CASCADE, CASCADE.replace(
    'resnet18-w4s2_resnet18', 'convnet-c16-32-64_resnet18')])
def test_tools_test_routes_real_images_like_the_stages_alone(tmp_path, cascade):
    """tools/test.py on 1,000 test images: the dumped predictions equal the
    saver's where it exited and the base's elsewhere (each run alone), for
    both shipped Fashion-MNIST pairs."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS

    from tinysaver_mm.apis import predict_stages
    out = str(tmp_path / 'preds.pkl')
    proc = tool('tools/test.py', cascade, '--work-dir', str(tmp_path), '--out', out,
                '--cfg-options', 'test_dataloader.dataset.indices=1000')
    assert 'tinysaver/exit_ratio' in proc.stdout and 'accuracy/top1' in proc.stdout
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 1000

    cfg = Config.fromfile(cascade)
    cfg.test_dataloader.dataset.indices = 1000
    init_default_scope('mmpretrain')
    from tinysaver_mm.utils import model_cfg_of
    model = MODELS.build(model_cfg_of(cfg))
    ref = predict_stages(model, Runner.build_dataloader(cfg.test_dataloader))
    conf = ref['probs_saver'].max(1)
    exited = np.array([p['exited'] for p in preds])
    scores = np.stack([p['pred_score'].numpy() for p in preds])
    # batch composition may change the last float bits: ignore razor-thin ties
    clear = np.abs(conf - model.threshold) > 1e-5
    assert np.array_equal(exited[clear], (conf >= model.threshold)[clear])
    expected = np.where(exited[:, None], ref['probs_saver'], ref['probs_base'])
    assert np.allclose(scores, expected, atol=1e-5)
    assert 0.0 < exited.mean() < 1.0
    gt = np.array([int(p['gt_label'][0]) for p in preds])
    assert np.array_equal(gt, ref['labels'])


def test_tools_test_refuses_an_empty_dataset(tmp_path):
    proc = tool('tools/test.py', CASCADE, '--work-dir', str(tmp_path),
                '--cfg-options', 'test_dataloader.dataset.indices=0', check=False)
    assert proc.returncode != 0
    assert 'dataset (FashionMNIST) is empty' in proc.stderr


def test_train_then_resume_through_safe_loading(tmp_path):
    """tools/train.py trains a zoo config; --resume reloads the Runner's own
    checkpoint through torch.load(weights_only=True) with the allowlist."""
    cfg = osp.join(ROOT, 'configs', 'fashion_mnist', 'resnet18-w4s2_fmnist.py')
    opts = ['--cfg-options', 'train_dataloader.dataset.indices=256',
            'val_dataloader.dataset.indices=256', 'train_dataloader.num_workers=0',
            'val_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'param_scheduler.1.end=6']  # the zoo's schedule as is (1 epoch is its warm-up)
    tool('tools/train.py', cfg, '--work-dir', str(tmp_path), *opts,
         'train_cfg.max_epochs=1')
    assert osp.isfile(tmp_path / 'epoch_1.pth')
    proc = tool('tools/train.py', cfg, '--work-dir', str(tmp_path), '--resume', *opts,
                'train_cfg.max_epochs=2')
    assert osp.isfile(tmp_path / 'epoch_2.pth')
    assert 'resumed epoch: 1' in (proc.stdout + proc.stderr)


@pytest.mark.slow
def test_demo_writes_consistent_results(tmp_path):
    out = str(tmp_path / 'demo.json')
    proc = tool('tools/demo_fashion_mnist.py', '--out', out, '--work-dir', str(tmp_path))
    with open(out) as f:
        r = json.load(f)
    assert set(r) == DEMO_KEYS
    assert r['gmacs_cascade'] == pytest.approx(
        r['gmacs_saver'] + (1 - r['exit_ratio']) * r['gmacs_base'])
    assert r['macs_saved_pct'] == pytest.approx(
        100 * (1 - r['gmacs_cascade'] / r['gmacs_base']))
    assert r['gmacs_base'] >= 20 * r['gmacs_saver']
    assert 0.0 <= r['threshold'] <= 1.0
    assert 'MACs saved' in proc.stdout


def test_augmented_records_are_reproducible_and_aligned(tmp_path):
    """--aug: the same seeded augmentation for every run and every model, so
    records of different models describe the same augmented images."""
    from tinysaver_mm.apis import check_aligned, load_cfg, load_records, record
    cfgs = {m: osp.join(ROOT, 'configs', 'fashion_mnist', f'{m}_fmnist.py')
            for m in ('resnet18-w4s2', 'resnet18-w16')}
    opts = {'train_dataloader.dataset.indices': 300, 'train_dataloader.num_workers': 2}
    paths = []
    for i, (m, c) in enumerate([*cfgs.items(), ('resnet18-w4s2', cfgs['resnet18-w4s2'])]):
        ckpt = osp.join(ROOT, 'checkpoints', 'fashion_mnist', f'{m}_fmnist.pth')
        paths += record(load_cfg(c, opts), ckpt, 'train', True, str(tmp_path / str(i)), c)
    a, b, again = (load_records(p) for p in paths)
    assert np.array_equal(a['probs'], again['probs'])
    check_aligned({'a': a, 'b': b})
    plain = record(load_cfg(cfgs['resnet18-w4s2'], opts),
                   osp.join(ROOT, 'checkpoints', 'fashion_mnist', 'resnet18-w4s2_fmnist.pth'),
                   'train', False, str(tmp_path / 'plain'), cfgs['resnet18-w4s2'])
    assert not np.array_equal(load_records(plain[0])['probs'], a['probs'])
    with pytest.raises(ValueError, match='differ in aug'):
        check_aligned({'aug': a, 'plain': load_records(plain[0])})


def test_splits_are_the_real_fashion_mnist_splits():
    """The test split is the 10,000 t10k images (mmpretrain 1.2.0 loads the
    training files for split='test' unless test_mode=True); train and holdout
    are disjoint slices of the 60,000 training images."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(CASCADE)
    init_default_scope('mmpretrain')
    test = DATASETS.build(cfg.test_dataloader.dataset)
    train = DATASETS.build(dict(cfg.test_dataloader.dataset, split='train', test_mode=False))
    hold = DATASETS.build(cfg.holdout_dataloader.dataset)
    assert len(test) == 10000 and len(hold) == 5000
    img = lambda ds, i: ds.get_data_info(i)['img']  # noqa: E731
    assert not np.array_equal(img(test, 0), img(train, 0))
    assert np.array_equal(img(hold, 0), img(train, 55000))
    raw = osp.join(ROOT, 'data', 'fashion_mnist', 't10k-labels-idx1-ubyte')
    labels = np.frombuffer(open(raw, 'rb').read()[8:], dtype=np.uint8)
    assert np.array_equal([int(test.get_data_info(i)['gt_label']) for i in range(50)],
                          labels[:50])


def test_record_refuses_an_empty_split(tmp_path):
    from tinysaver_mm.apis import load_cfg, record
    c = osp.join(ROOT, 'configs', 'fashion_mnist', 'resnet18-w4s2_fmnist.py')
    with pytest.raises(ValueError, match='val dataset .*is empty'):
        record(load_cfg(c, {'val_dataloader.dataset.indices': 0}), None, 'val',
               out_dir=str(tmp_path))


def test_three_stage_config_through_tools_test(tmp_path):
    cfg = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_3stage_resnet18-w4s2_w8_w16_fmnist.py')
    proc = tool('tools/test.py', cfg, '--work-dir', str(tmp_path),
                '--cfg-options', 'test_dataloader.dataset.indices=500')
    found = dict(line.partition(': ')[::2] for line in proc.stdout.splitlines()
                 if line.startswith('tinysaver/'))
    shares = [float(found[f'tinysaver/share_{s}']) for s in ('saver', 'mid0', 'base')]
    assert sum(shares) == pytest.approx(1.0)
    assert float(found['tinysaver/gmacs_cascade']) == pytest.approx(
        float(found['tinysaver/gmacs_cascade_analytic']))


@pytest.mark.slow
def test_guarantee_holds_on_fashion_mnist_test_halves(tmp_path):
    """Fit the guaranteed calibrator on one half of the real test split and
    measure the drop on the other half: violations are at most delta."""
    from tinysaver_mm.apis import load_cfg, record
    from tinysaver_mm.apis import load_pair
    from tinysaver_mm.core import violation_rate
    paths = {}
    for m in ('resnet18-w4s2', 'resnet18-w16'):
        c = osp.join(ROOT, 'configs', 'fashion_mnist', f'{m}_fmnist.py')
        ckpt = osp.join(ROOT, 'checkpoints', 'fashion_mnist', f'{m}_fmnist.pth')
        paths[m] = record(load_cfg(c), ckpt, 'test', out_dir=str(tmp_path), config_path=c)[0]
    d = load_pair(paths['resnet18-w4s2'], paths['resnet18-w16'])
    assert d['confidence'].size == 10000
    r = violation_rate(d['confidence'], d['saver_correct'], d['base_correct'],
                       max_drop=0.005, delta=0.1, n_splits=200, seed=1)
    assert r['violation_rate'] <= 0.1
    assert r['mean_exit_ratio'] > 0.5   # the guarantee still lets most images exit
