"""Record per-sample predictions of a model (or each stage of a cascade).

Examples:
    python tools/record.py configs/fashion_mnist/resnet18-w4s2_fmnist.py \
        checkpoints/fashion_mnist/resnet18-w4s2_fmnist.pth --split train --aug
    # a TinySaverDetector / TinySaverSegmentor config: its saver and base, both on every image
    python tools/record.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py \
        --split holdout
"""
import argparse

from mmengine.config import DictAction

from tinysaver_mm.apis import (SPLITS, finish_distributed, load_cfg, record, record_detections,
                               record_segmentation)

CASCADE_RECORDERS = {'TinySaverDetector': record_detections,
                     'TinySaverSegmentor': record_segmentation}


def main():
    p = argparse.ArgumentParser(description='Record per-sample predictions')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='weights (optional for a cascade whose stages name theirs)')
    p.add_argument('--split', choices=SPLITS, required=True,
                   help='the same in every task: train fits the models, val picks the '
                   'checkpoint, holdout calibrates the cascade, test gives the figures')
    p.add_argument('--aug', action='store_true',
                   help='training split with its training augmentation (as the paper)')
    p.add_argument('--out-dir', default='records')
    p.add_argument('--overwrite', action='store_true',
                   help='replace record files of this config and split in --out-dir')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none', help='job launcher (tools/dist_record.sh)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    a = p.parse_args()
    cfg = load_cfg(a.config, a.cfg_options, launcher=a.launcher)
    recorder = CASCADE_RECORDERS.get(cfg.model.get('type'))
    if recorder is not None:
        if a.aug or a.launcher != 'none':
            raise SystemExit(f'{cfg.model.type} records: --aug and --launcher are not '
                             'supported.')
        path = recorder(cfg, a.split, a.out_dir, a.checkpoint, a.config, a.overwrite)
        print(f'written: {path}')
        return
    if a.launcher != 'none':
        from mmengine.dist import init_dist, is_distributed
        if not is_distributed():
            init_dist(a.launcher, **cfg.env_cfg.get('dist_cfg', {}))
    for path in record(cfg, a.checkpoint, a.split, a.aug, a.out_dir, a.config,
                       a.overwrite):
        print(f'written: {path}')
    finish_distributed()


if __name__ == '__main__':
    main()
