"""Deterministic corrupted copies of the Fashion-MNIST test split.

Writes ``<out>/<name>/t10k-images-idx3-ubyte`` (+ labels, + the clean training
files as symlinks so mmpretrain's FashionMNIST reads the folder) for each
corruption: noise, blur, contrast, brightness, rotation, shift, inversion.
Read one with ``--cfg-options test_dataloader.dataset.data_root=data/fmnist_shift/<name>``.

Example:
    python tools/make_fmnist_shift.py --src data/fashion_mnist --out data/fmnist_shift
"""
import argparse
import os
import os.path as osp

import numpy as np
from scipy import ndimage

from tinysaver_mm.apis import check_outputs

CORRUPTIONS = ('noise', 'blur', 'contrast', 'brightness', 'rotation', 'shift', 'inversion')


def read_idx(path: str) -> np.ndarray:
    """An idx3/idx1 ubyte file as uint8 array."""
    with open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    shape = np.frombuffer(data[4:4 + 4 * ndim], dtype='>u4').astype(int)
    return np.frombuffer(data[4 + 4 * ndim:], dtype=np.uint8).reshape(shape)


def write_idx(path: str, arr: np.ndarray) -> None:
    """Write a uint8 array as an idx ubyte file."""
    with open(path, 'wb') as f:
        f.write(bytes([0, 0, 8, arr.ndim]) + np.array(arr.shape, dtype='>u4').tobytes())
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def corrupt(images: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """One corruption of (N, 28, 28) uint8 images, deterministic given ``seed``."""
    x = images.astype(np.float32)
    rng = np.random.default_rng(seed)
    if name == 'noise':
        x = x + rng.normal(0, 40, x.shape)
    elif name == 'blur':
        x = ndimage.gaussian_filter(x, sigma=(0, 1.0, 1.0))
    elif name == 'contrast':
        x = (x - x.mean(axis=(1, 2), keepdims=True)) * 0.4 + x.mean(axis=(1, 2), keepdims=True)
    elif name == 'brightness':
        x = x + 80
    elif name == 'rotation':
        angles = rng.uniform(-30, 30, len(x))
        x = np.stack([ndimage.rotate(im, a, reshape=False, order=1) for im, a in zip(x, angles)])
    elif name == 'shift':
        d = rng.integers(-4, 5, (len(x), 2))
        x = np.stack([ndimage.shift(im, s, order=0) for im, s in zip(x, d)])
    elif name == 'inversion':
        x = 255 - x
    else:
        raise ValueError(f'corruption {name!r} is unknown; choose from {CORRUPTIONS}.')
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--src', default='data/fashion_mnist')
    p.add_argument('--out', default='data/fmnist_shift')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--overwrite', action='store_true')
    a = p.parse_args()
    src_img = osp.join(a.src, 't10k-images-idx3-ubyte')
    if not osp.isfile(src_img):
        raise SystemExit(f'{src_img} not found: decompress Fashion-MNIST first (tools/install.sh).')
    images, labels = read_idx(src_img), read_idx(osp.join(a.src, 't10k-labels-idx1-ubyte'))
    outs = [osp.join(a.out, n, 't10k-images-idx3-ubyte') for n in CORRUPTIONS]
    check_outputs(outs, a.overwrite, [src_img])
    for name, out in zip(CORRUPTIONS, outs):
        os.makedirs(osp.dirname(out), exist_ok=True)
        write_idx(out, corrupt(images, name, a.seed))
        write_idx(osp.join(osp.dirname(out), 't10k-labels-idx1-ubyte'), labels)
        for f in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'):
            link = osp.join(osp.dirname(out), f)
            if not osp.lexists(link):
                os.symlink(osp.abspath(osp.join(a.src, f)), link)
        print(f'written: {out}')


if __name__ == '__main__':
    main()
