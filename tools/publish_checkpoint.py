"""Strip a training checkpoint to its weights (small files to commit or share).

Example:
    python tools/publish_checkpoint.py work_dirs/x/best_accuracy_top1_epoch_6.pth \
        checkpoints/fashion_mnist/x.pth
"""
import argparse
import os

from tinysaver_mm.apis import publish_checkpoint


def main():
    parser = argparse.ArgumentParser(description='Keep only the weights')
    parser.add_argument('src', help='checkpoint saved by the Runner')
    parser.add_argument('dst', help='output .pth (never the source itself)')
    parser.add_argument('--overwrite', action='store_true', help='replace dst when it exists')
    args = parser.parse_args()
    meta = publish_checkpoint(args.src, args.dst, args.overwrite)
    print(f'{args.dst}: {os.path.getsize(args.dst) / 1e6:.2f} MB, {meta}')


if __name__ == '__main__':
    main()
