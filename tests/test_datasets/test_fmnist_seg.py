"""The Fashion-MNIST segmentation set: determinism, honest masks, mmseg loading."""
import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DATA = osp.join(ROOT, 'data', 'fashion_mnist')
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
         't10k-labels-idx1-ubyte')
if not all(osp.isfile(osp.join(DATA, f)) for f in FILES):
    pytest.skip(f'Fashion-MNIST IDX files absent from {DATA} (run bash tools/install.sh)',
                allow_module_level=True)

from tinysaver_mm.datasets import FMNIST_SEG_CLASSES, make_fmnist_seg  # noqa: E402

N = 24
SPLITS = ('train', 'holdout', 'val')


def raw_idx(prefix):
    """Glyphs and labels read straight from the IDX bytes (independent of read_idx)."""
    with open(osp.join(DATA, f'{prefix}-images-idx3-ubyte'), 'rb') as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    with open(osp.join(DATA, f'{prefix}-labels-idx1-ubyte'), 'rb') as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8)
    return images, labels


def build(out, n=N, **kw):
    return {s: make_fmnist_seg(str(out), s, n, data_root=DATA, **kw) for s in SPLITS}


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp('fmnist_seg')
    return str(out), build(out)


def load_png(path):
    return np.asarray(Image.open(path))


def test_layout_and_label_values(built):
    out, records = built
    seen = set()
    for split in SPLITS:
        rec = json.load(open(records[split]))
        assert rec['classes'] == list(FMNIST_SEG_CLASSES) and len(rec['classes']) == 11
        names = sorted(os.listdir(osp.join(out, split, 'img')))
        assert names == sorted(os.listdir(osp.join(out, split, 'ann')))
        assert names == [f'{i:06d}.png' for i in range(N)]
        for name in names:
            img = Image.open(osp.join(out, split, 'img', name))
            ann = Image.open(osp.join(out, split, 'ann', name))
            assert img.mode == 'L' and ann.mode == 'L' and img.size == ann.size == (96, 96)
            values = np.unique(np.asarray(ann))
            assert values.min() >= 0 and values.max() <= 10
            seen.update(values.tolist())
    assert 0 in seen and len(seen) >= 8  # background and most garment classes


def test_masks_are_the_glyph_pixels_later_ones_on_top(built):
    """Repaint every label map from the records and the raw IDX glyphs."""
    out, records = built
    sources = {'train': raw_idx('train'), 'holdout': raw_idx('train'), 'val': raw_idx('t10k')}
    for split in SPLITS:
        images, labels = sources[split]
        rec = json.load(open(records[split]))
        counts = []
        for entry in rec['images']:
            expected = np.zeros((96, 96), np.uint8)
            top = np.full((96, 96), -1)
            for k, obj in enumerate(entry['objects']):
                assert obj['label'] == labels[obj['src_index']] + 1
                if split != 'val':
                    assert obj['src_index'] < 55000  # the classifier's hold-out stays free
                s = obj['scale']
                glyph = np.asarray(Image.fromarray(images[obj['src_index']]).resize(
                    (s, s), Image.BILINEAR))
                mask = glyph >= rec['mask_threshold']
                expected[obj['y']:obj['y'] + s, obj['x']:obj['x'] + s][mask] = obj['label']
                top[obj['y']:obj['y'] + s, obj['x']:obj['x'] + s][mask] = k
            ann = load_png(osp.join(out, split, 'ann', entry['file_name']))
            np.testing.assert_array_equal(ann, expected)
            # the image shows the glyphs: brighter on mask pixels than on background
            img = load_png(osp.join(out, split, 'img', entry['file_name'])).astype(float)
            assert img[ann > 0].mean() > img[ann == 0].mean() + 40
            counts.append(entry['num_objects'])
            assert entry['num_objects'] == len(entry['objects']) >= 1
        assert min(counts) >= 1 and max(counts) <= 6 and len(set(counts)) >= 3


def test_difficulty_varies_and_splits_differ(built):
    out, records = built
    diffs = [e['difficulty'] for e in json.load(open(records['train']))['images']]
    assert min(diffs) < 0.3 and max(diffs) > 0.7
    train0 = load_png(osp.join(out, 'train', 'img', '000000.png'))
    hold0 = load_png(osp.join(out, 'holdout', 'img', '000000.png'))
    assert not np.array_equal(train0, hold0)


def test_deterministic_byte_identical_and_prefix(built, tmp_path):
    out, _ = built
    again = build(tmp_path / 'again')
    smaller = build(tmp_path / 'small', n=5)
    for split in SPLITS:
        assert filecmp.cmp(again[split], osp.join(out, split, 'objects.json'), shallow=False)
        for sub in ('img', 'ann'):
            names = sorted(os.listdir(osp.join(out, split, sub)))
            match, mismatch, errors = filecmp.cmpfiles(
                osp.join(out, split, sub), osp.join(tmp_path, 'again', split, sub), names,
                shallow=False)
            assert mismatch == [] and errors == [] and len(match) == N
            match, mismatch, errors = filecmp.cmpfiles(
                osp.join(out, split, sub), osp.join(tmp_path, 'small', split, sub), names[:5],
                shallow=False)
            assert len(match) == 5
    other = make_fmnist_seg(str(tmp_path / 'seed1'), 'val', 3, seed=1, data_root=DATA)
    assert not filecmp.cmp(other, osp.join(tmp_path, 'small', 'val', 'objects.json'),
                           shallow=False)


@pytest.mark.parametrize('kwargs, match', [
    (dict(split='test'), "unknown split 'test'"),
    (dict(num_images=0), 'num_images must be an integer >= 1, got 0'),
    (dict(num_images=2.5), 'num_images must be an integer'),
    (dict(canvas=(16, 96)), r'canvas must be \(width, height\) with both >= 32'),
])
def test_bad_arguments_are_refused_by_name(tmp_path, kwargs, match):
    args = dict(split='val', num_images=2, data_root=DATA)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_fmnist_seg(str(tmp_path), **args)


def test_missing_fashion_mnist_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte'):
        make_fmnist_seg(str(tmp_path / 'out'), 'train', 1, data_root=str(tmp_path))


def test_mmseg_loads_a_sample_through_the_config_pipeline(built):
    pytest.importorskip('mmseg')
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(osp.join(ROOT, 'configs/fmnist_seg/fcn_r18v1c-w8_fmnist-seg.py'))
    import_modules_from_strings(**cfg.custom_imports)  # as the Runner does
    from mmseg.registry import DATASETS
    from mmengine.registry import DefaultScope
    out, _ = built
    for loader in ('val_dataloader', 'holdout_dataloader', 'train_dataloader'):
        ds_cfg = cfg[loader].dataset.copy()
        ds_cfg.data_root = out
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            ds = DATASETS.build(ds_cfg)
        assert type(ds).__name__ == 'FashionMNISTSegDataset' and len(ds) == N
        assert ds.metainfo['classes'] == FMNIST_SEG_CLASSES
        sample = ds[3]
        split = ds_cfg.data_prefix.img_path.split('/')[0]
        gt = sample['data_samples'].gt_sem_seg.data
        assert sample['inputs'].shape == (3, 96, 96)
        ann = load_png(osp.join(out, split, 'ann', '000003.png'))
        img = load_png(osp.join(out, split, 'img', '000003.png'))
        if loader != 'train_dataloader':  # no random flip at test time
            np.testing.assert_array_equal(gt.numpy()[0], ann)
            np.testing.assert_array_equal(sample['inputs'][0].numpy(), img)
        else:
            assert gt.numpy()[0].tolist() in (ann.tolist(), ann[:, ::-1].tolist())


def test_dataset_class_refuses_reduce_zero_label(built):
    pytest.importorskip('mmseg')
    from tinysaver_mm.datasets import FashionMNISTSegDataset
    out, _ = built
    with pytest.raises(ValueError, match='reduce_zero_label=True'):
        FashionMNISTSegDataset(data_root=out, reduce_zero_label=True,
                               data_prefix=dict(img_path='val/img', seg_map_path='val/ann'))
