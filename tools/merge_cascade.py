"""Write one checkpoint holding a whole cascade (every stage and the evaluator).

Host tools take one weights file for the whole model, e.g.:
    python tools/merge_cascade.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py \
        work_dirs/cascade_fmnist-det.pth
    python .venv/lib/python3.11/site-packages/mmdet/.mim/tools/test.py CONFIG work_dirs/cascade_fmnist-det.pth
"""
import argparse
import os

from mmengine.config import DictAction

from tinysaver_mm.apis import merge_cascade


def main():
    parser = argparse.ArgumentParser(description='Merge a cascade into one checkpoint')
    parser.add_argument('config', help='cascade config (its stages name their checkpoints)')
    parser.add_argument('out', help='output .pth (never one of the inputs)')
    parser.add_argument('--overwrite', action='store_true', help='replace OUT when it exists')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args()
    meta = merge_cascade(args.config, args.out, args.cfg_options, args.overwrite)['tinysaver_cascade']
    print(f'{args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB, {meta["type"]} with '
          f'{meta["stages"] + meta["overheads"]}, threshold {meta["threshold"]}, '
          f'exit_rule {meta["exit_rule"]!r}')


if __name__ == '__main__':
    main()
