"""Evaluate a model or a TinySaver cascade (mmpretrain/mmdet-style test.py).

Examples:
    python tools/test.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
    # the top-1 drop vs the base alone with its 95 % interval (classification):
    python tools/test.py BASE_CONFIG BASE.pth --out base_test.pkl
    python tools/test.py CASCADE_CONFIG --drop-vs base_test.pkl
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

from mmengine.config import DictAction

from tinysaver_mm.apis import (finish_distributed, format_drop_interval, load_cfg, load_correct,
                               predictions_drop_interval, run_test)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a model or cascade')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='weights of the whole model (optional for a '
                        'cascade whose stages name their own checkpoints)')
    parser.add_argument('--work-dir', help='directory for logs and metrics')
    parser.add_argument('--out', help='dump per-sample predictions (.pkl)')
    parser.add_argument('--overwrite', action='store_true', help='replace --out when it exists')
    parser.add_argument('--drop-vs', metavar='REFERENCE',
                        help='per-image answers of the reference (the base alone) on the same '
                        'test split: tools/test.py --out .pkl or tools/record.py .npz; prints '
                        'the top-1 drop vs it with its 95 %% interval (classification)')
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
    out, tmp = args.out, None
    if args.drop_vs:
        try:  # a bad reference is refused before the run
            load_correct(args.drop_vs)
        except (OSError, ValueError) as e:
            sys.exit(f'test: --drop-vs: {e}')
        if out is None:
            tmp = tempfile.TemporaryDirectory()
            out = osp.join(tmp.name, 'predictions.pkl')
    try:
        metrics = run_test(cfg, args.checkpoint, out, args.overwrite)
        from mmengine.dist import is_main_process
        if is_main_process():
            for key, value in metrics.items():
                print(f'{key}: {value}')
            if args.drop_vs:
                try:
                    d = predictions_drop_interval(args.drop_vs, out)
                except (OSError, ValueError) as e:
                    sys.exit(f'test: --drop-vs: {e}')
                print(format_drop_interval(d, args.drop_vs))
    finally:
        if tmp is not None:
            tmp.cleanup()
    finish_distributed()


if __name__ == '__main__':
    main()
