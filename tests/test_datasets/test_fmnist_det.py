"""The Fashion-MNIST COCO detection set: valid COCO, honest boxes, determinism."""
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

from tinysaver_mm.datasets import (FMNIST_CLASSES, make_fmnist_det,  # noqa: E402
                                   read_idx)

N = 20


def raw_labels(prefix):
    """Labels read straight from the IDX bytes (independent of read_idx)."""
    with open(osp.join(DATA, f'{prefix}-labels-idx1-ubyte'), 'rb') as f:
        return np.frombuffer(f.read()[8:], dtype=np.uint8)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('fmnist_det'))
    anns = {s: make_fmnist_det(out, s, N, data_root=DATA) for s in ('train', 'val')}
    return out, anns


def load(path):
    with open(path) as f:
        return json.load(f)


def test_loads_with_pycocotools(built):
    from pycocotools.coco import COCO
    out, anns = built
    for split, path in anns.items():
        assert path == osp.join(out, 'annotations', f'instances_{split}.json')
        coco = COCO(path)
        assert len(coco.getImgIds()) == N and len(coco.getAnnIds()) >= N
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(FMNIST_CLASSES)
        assert coco.getCatIds() == list(range(1, 11))


def test_boxes_inside_nonempty_and_on_bright_pixels(built):
    out, anns = built
    for split, path in anns.items():
        coco = load(path)
        imgs = {im['id']: im for im in coco['images']}
        for ann in coco['annotations']:
            im = imgs[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and ann['area'] == w * h and ann['iscrowd'] == 0
            assert x >= 0 and y >= 0 and x + w <= im['width'] and y + h <= im['height']
            pixels = np.asarray(Image.open(osp.join(out, split, im['file_name'])))
            assert pixels.shape == (im['height'], im['width'])
            crop = pixels[y:y + h, x:x + w]
            assert crop.max() >= 150, (split, ann)  # glyph peak is >= 170
            # the tight box touches glyph pixels on every side
            for edge in (crop[0], crop[-1], crop[:, 0], crop[:, -1]):
                assert edge.max() > 0


def test_object_counts_and_difficulty_hints(built):
    _, anns = built
    coco = load(anns['train'])
    per_image = np.bincount([a['image_id'] for a in coco['annotations']], minlength=N + 1)
    counts = [im['num_objects'] for im in coco['images']]
    assert counts == per_image[1:].tolist()
    assert min(counts) >= 1 and max(counts) <= 6
    assert 1 in counts and any(c > 1 for c in counts)
    for im in coco['images']:
        scales = [a['scale'] for a in coco['annotations'] if a['image_id'] == im['id']]
        assert im['min_scale'] == min(scales) and 14 <= min(scales) <= 64
        assert 0 <= im['max_iou'] <= 0.5


def test_deterministic_bytes(built, tmp_path):
    out, anns = built
    again = make_fmnist_det(str(tmp_path), 'val', N, data_root=DATA)
    with open(again, 'rb') as a, open(anns['val'], 'rb') as b:
        assert a.read() == b.read()
    names = sorted(os.listdir(osp.join(out, 'val')))
    assert names == sorted(os.listdir(tmp_path / 'val')) and len(names) == N
    for name in names:
        with open(osp.join(out, 'val', name), 'rb') as a, open(tmp_path / 'val' / name,
                                                                 'rb') as b:
            assert a.read() == b.read(), name
    other = make_fmnist_det(str(tmp_path / 'seed1'), 'val', N, seed=1, data_root=DATA)
    assert load(other) != load(anns['val'])


def test_train_and_val_draw_from_different_files(built):
    _, anns = built
    for split, prefix, top in (('train', 'train', 55000), ('val', 't10k', 10000)):
        labels = raw_labels(prefix)
        for ann in load(anns[split])['annotations']:
            assert ann['src_set'] == prefix and 0 <= ann['src_index'] < top
            assert ann['category_id'] == int(labels[ann['src_index']]) + 1


def test_read_idx_matches_raw_bytes():
    images, labels = read_idx(osp.join(DATA, FILES[2]), osp.join(DATA, FILES[3]))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.array_equal(labels, raw_labels('t10k'))


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_images=0), 'num_images .*0'),
    (dict(split='test'), "unknown split 'test'"),
    (dict(canvas=(31, 128)), r'canvas .*\(31, 128\)'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    args = {**dict(split='train', num_images=2, data_root=DATA), **kwargs}
    with pytest.raises(ValueError, match=match):
        make_fmnist_det(str(tmp_path), **args)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nope.*tools/install\.sh'):
        make_fmnist_det(str(tmp_path), 'val', 2, data_root=str(tmp_path / 'nope'))
    bad = tmp_path / 'bad-images'
    bad.write_bytes(b'\x00\x00\x08\x01' + bytes(12))
    with pytest.raises(ValueError, match='magic number 2049, expected 2051'):
        read_idx(str(bad), osp.join(DATA, FILES[3]))
