"""The embedded saver/base segmentors: mmseg configs, MACs, training, published weights."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmseg')
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
FMNIST = osp.join(ROOT, 'data', 'fashion_mnist')
ZOO = osp.join(ROOT, 'checkpoints', 'fmnist_seg', 'zoo.json')
NAMES = ('fcn_r18v1c-w8', 'deeplabv3_r18v1c-w32-os4')  # saver, base


def config(name):
    return osp.join(ROOT, 'configs', 'fmnist_seg', f'{name}_fmnist-seg.py')


def load(name, **overrides):
    from tinysaver_mm.apis import load_cfg
    cfg = load_cfg(config(name), overrides or None)
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)  # as the Runner does
    return cfg


def build(cfg):
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    if not osp.isfile(osp.join(FMNIST, 't10k-labels-idx1-ubyte')):
        pytest.skip('Fashion-MNIST IDX files absent (run bash tools/install.sh)')
    from tinysaver_mm.datasets import make_fmnist_seg
    out = str(tmp_path_factory.mktemp('fmnist_seg'))
    for split in ('train', 'holdout', 'val'):
        make_fmnist_seg(out, split, 32, data_root=FMNIST)
    return out


def test_configs_are_mmseg_encoder_decoders_with_iou_metric():
    for name in NAMES:
        cfg = load(name)
        assert cfg.default_scope == 'mmseg' and cfg.model.type == 'EncoderDecoder'
        assert cfg.val_evaluator.type == 'IoUMetric' and cfg.test_evaluator.type == 'IoUMetric'
        assert 'tinysaver_mm.datasets' in cfg.custom_imports['imports']
        assert cfg.model.decode_head.num_classes == 11


def test_base_costs_at_least_ten_times_the_saver():
    from tinysaver_mm.utils.complexity import measure_macs
    macs = {}
    for name in NAMES:
        model = build(load(name))
        macs[name] = measure_macs(model, torch.zeros(1, 3, 96, 96))
        # the tensor-mode forward is the whole cost of whole-mode inference here:
        # logits at 96x96 after the head's own resize
        assert model.test_cfg.mode == 'whole'
    saver, base = (macs[n] for n in NAMES)
    assert base >= 10 * saver > 0
    if osp.isfile(ZOO):  # the published figures are these measurements
        zoo = json.load(open(ZOO))
        for name in (n for n in NAMES if n in zoo):
            assert zoo[name]['gmacs_per_image'] == pytest.approx(macs[name] / 1e9, rel=1e-6)


def test_test_step_on_the_configs_pipeline(tiny_set):
    from mmseg.registry import DATASETS
    for name in NAMES:
        cfg = load(name)
        ds_cfg = cfg.val_dataloader.dataset.copy()
        ds_cfg.data_root = tiny_set
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            dataset = DATASETS.build(ds_cfg)
            model = build(cfg).eval()
            with torch.no_grad():
                out = model.test_step(pseudo_collate([dataset[0], dataset[1]]))
        for ds in out:
            assert ds.pred_sem_seg.data.shape == (1, 96, 96)
            assert ds.seg_logits.data.shape == (11, 96, 96)
            assert int(ds.pred_sem_seg.data.max()) <= 10


@pytest.mark.slow
def test_tools_train_trains_an_mmseg_config(tiny_set, tmp_path):
    """tools/train.py on the saver config, 1 epoch on the tiny set, IoUMetric at the end."""
    work = str(tmp_path / 'work')
    opts = [f'train_dataloader.dataset.data_root={tiny_set}',
            f'val_dataloader.dataset.data_root={tiny_set}', 'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1', 'train_dataloader.num_workers=0',
            'val_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.persistent_workers=False', 'train_dataloader.batch_size=8']
    env = dict(__import__('os').environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, 'tools/train.py', config(NAMES[0]), '--work-dir', work,
                           '--cfg-options', *opts], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'mIoU' in proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.slow
@pytest.mark.parametrize('name', NAMES)
def test_published_checkpoint_reaches_its_recorded_val_miou(name):
    """Strict load into the config, mmseg's IoUMetric on the val split."""
    if not osp.isfile(osp.join(ROOT, 'data', 'fmnist_seg', '.made_6000_1000_1000')):
        pytest.skip('data/fmnist_seg absent (run bash tools/make_fmnist_seg.sh)')
    from tinysaver_mm.apis import build_runner
    zoo = json.load(open(ZOO))[name]
    ckpt = osp.join(ROOT, zoo['checkpoint'])
    assert osp.getsize(ckpt) < 5e6
    cfg = load(name, **{'test_dataloader.num_workers': 0,
                        'test_dataloader.persistent_workers': False})
    cfg.work_dir = osp.join(ROOT, 'work_dirs', 'test_seg_zoo', name)
    metrics = build_runner(cfg, ckpt).test()
    assert metrics['mIoU'] == pytest.approx(zoo['val_mIoU'], abs=0.1)
