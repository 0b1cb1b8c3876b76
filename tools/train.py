"""Train an ordinary mmpretrain model (e.g. the Fashion-MNIST zoo).

Example:
    python tools/train.py configs/fashion_mnist/resnet18-w4_fmnist.py \
        --publish checkpoints/mine/resnet18-w4.pth
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from tinysaver_mm.apis import load_cfg, run_train


def parse_args():
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in work_dir')
    parser.add_argument('--publish', metavar='PATH',
                        help='also write the best checkpoint\'s weights to this stable path')
    parser.add_argument('--overwrite', action='store_true', help='let --publish replace PATH')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = load_cfg(args.config, args.cfg_options, args.work_dir, args.launcher)
    try:
        best = run_train(cfg, args.resume, args.publish, args.overwrite)
    except FileExistsError as e:  # --publish onto an existing file: refused before training
        sys.exit(f'train: {e}')
    if not best:
        print('no checkpoint saved')
    elif osp.basename(best).startswith('best_'):
        print(f'best checkpoint: {best}')
    else:  # no save_best (e.g. the Fashion-MNIST zoo keeps its last epoch)
        print(f'last checkpoint (no save_best in the config): {best}')
    if args.publish:
        print(f'published: {args.publish}')


if __name__ == '__main__':
    main()
