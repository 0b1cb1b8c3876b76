"""Build the Fashion-MNIST semantic-segmentation set (train, holdout, val).

Example:
    python tools/make_fmnist_seg.py --out data/fmnist_seg --train 6000 --holdout 1000 --val 1000
"""
import argparse
import json

from tinysaver_mm.apis import make_fmnist_seg


def main():
    p = argparse.ArgumentParser(description='Fashion-MNIST glyphs as a segmentation set')
    p.add_argument('--out', default='data/fmnist_seg', help='dataset root folder')
    p.add_argument('--train', type=int, default=6000, help='number of train images')
    p.add_argument('--holdout', type=int, default=1000, help='number of holdout images')
    p.add_argument('--val', type=int, default=1000, help='number of val images')
    p.add_argument('--canvas', type=int, nargs=2, default=(96, 96),
                   metavar=('W', 'H'), help='canvas width and height')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', default='data/fashion_mnist',
                   help='folder with the decompressed Fashion-MNIST IDX files')
    a = p.parse_args()
    for split, num in (('train', a.train), ('holdout', a.holdout), ('val', a.val)):
        path = make_fmnist_seg(a.out, split, num, tuple(a.canvas), a.seed, a.data_root)
        with open(path) as f:
            images = json.load(f)['images']
        print(f'{split}: {len(images)} images, {sum(i["num_objects"] for i in images)} '
              f'glyphs -> {a.out}/{split}/{{img,ann}}/')


if __name__ == '__main__':
    main()
