"""Build the Fashion-MNIST COCO detection set (train + val splits).

Example:
    python tools/make_fmnist_det.py --out data/fmnist_det --train 2000 --val 500
"""
import argparse
import json

from tinysaver_mm.apis import make_fmnist_det


def main():
    p = argparse.ArgumentParser(description='Fashion-MNIST objects as a COCO detection set')
    p.add_argument('--out', default='data/fmnist_det', help='dataset root folder')
    p.add_argument('--train', type=int, default=2000, help='number of train images')
    p.add_argument('--val', type=int, default=500, help='number of val images')
    p.add_argument('--canvas', type=int, nargs=2, default=(128, 128),
                   metavar=('W', 'H'), help='canvas width and height')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', default='data/fashion_mnist',
                   help='folder with the decompressed Fashion-MNIST IDX files')
    a = p.parse_args()
    for split, num in (('train', a.train), ('val', a.val)):
        ann_file = make_fmnist_det(a.out, split, num, tuple(a.canvas), a.seed, a.data_root)
        with open(ann_file) as f:
            coco = json.load(f)
        print(f'{split}: {len(coco["images"])} images, {len(coco["annotations"])} objects '
              f'-> {ann_file} (images in {a.out}/{split}/)')


if __name__ == '__main__':
    main()
