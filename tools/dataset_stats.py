"""Mean/std per channel of a config's training images, for its data_preprocessor.

Example:
    python tools/dataset_stats.py configs/custom/resnet18-w4s2_grey.py
    # then set, in configs/custom/_base_/image_folder.py:
    #   num_classes = ...   data_preprocessor = dict(..., mean=[...], std=[...])
"""
import argparse

from mmengine.config import DictAction

from tinysaver_mm.apis import SPLITS, dataset_stats, load_cfg


def main():
    p = argparse.ArgumentParser(description="Per-channel mean/std of a config's images")
    p.add_argument('config')
    p.add_argument('--split', choices=SPLITS, default='train',
                   help='the split the models train on (default)')
    p.add_argument('--out', help='also write the figures to this JSON file')
    p.add_argument('--overwrite', action='store_true', help='let --out replace a file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    a = p.parse_args()
    cfg = load_cfg(a.config, a.cfg_options)
    r = dataset_stats(cfg, a.split, a.out, a.overwrite, a.config)
    print(f'{r["num_images"]} {a.split} images, {r["channels"]} channel(s), '
          f'{r["num_classes"]} classes: {r["classes"]}')
    print('for the dataset config:')
    print(f'num_classes = {r["num_classes"]}')
    print(f'data_preprocessor = dict(num_classes=num_classes, mean={r["mean"]}, '
          f'std={r["std"]}{", to_rgb=True" if r["channels"] == 3 else ""})')
    if a.out:
        print(f'written: {a.out}')


if __name__ == '__main__':
    main()
