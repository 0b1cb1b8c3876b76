"""Record a detection cascade on another view of a split: flipped images, or pre-NMS candidates.

Examples:
    # training-split records with the recording augmentation (RandomFlip 0.5), both models
    python tools/record_det_views.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py \
        --split train --flip random --roles saver base --out records/det_train_aug.npz
    # the saver on the flipped images (self-agreement signal)
    python tools/record_det_views.py CONFIG --split holdout --flip all --out records/det_holdout_flip.npz
"""
import argparse

from tinysaver_mm.apis import FLIP_MODES, SPLITS, load_cfg, record_det_views


def main():
    p = argparse.ArgumentParser(description='Record a detection cascade on a view of a split')
    p.add_argument('config')
    p.add_argument('--split', choices=SPLITS, required=True)
    p.add_argument('--out', required=True, help='records file to write (.npz)')
    p.add_argument('--flip', choices=FLIP_MODES, default='none',
                   help="'random': each image flipped with probability 0.5 (seeded), as the "
                   "detectors' RandomFlip; 'all': every image")
    p.add_argument('--roles', nargs='+', default=['saver'], choices=['saver', 'base'])
    p.add_argument('--no-nms', action='store_true',
                   help="the saver's candidates before NMS (NMS IoU threshold 1.0, up to 1000)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--checkpoint', help='weights of the whole cascade (optional)')
    p.add_argument('--overwrite', action='store_true')
    a = p.parse_args()
    cfg = load_cfg(a.config, None)
    test_cfg = dict(nms=dict(type='nms', iou_threshold=1.0), max_per_img=1000) \
        if a.no_nms else None
    print('written:', record_det_views(cfg, a.split, a.out, a.flip, a.roles, test_cfg, a.seed,
                                       a.checkpoint, a.config, a.overwrite))


if __name__ == '__main__':
    main()
