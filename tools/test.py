"""Evaluate a model or a TinySaver cascade (mmpretrain/mmdet-style test.py).

Example:
    python tools/test.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
"""
import argparse
import os

from mmengine.config import DictAction

from tinysaver_mm.apis import finish_distributed, load_cfg, run_test


def parse_args():
    parser = argparse.ArgumentParser(description='Test a model or cascade')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='weights of the whole model (optional for a '
                        'cascade whose stages name their own checkpoints)')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument('--out', help='dump per-sample predictions (.pkl)')
    parser.add_argument('--overwrite', action='store_true', help='replace --out when it exists')
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
    metrics = run_test(cfg, args.checkpoint, args.out, args.overwrite)
    from mmengine.dist import is_main_process
    if is_main_process():
        for key, value in metrics.items():
            print(f'{key}: {value}')
    finish_distributed()


if __name__ == '__main__':
    main()
