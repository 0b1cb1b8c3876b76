"""How stable ORIC is: two independent context draws of the same images, compared.

Example (the holdout's calibration half of the embedded detection set):
    python tools/analysis_tools/oric_repeatability.py \
        records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_holdout_det.npz --start 500
"""
import argparse

import numpy as np
from scipy.stats import spearmanr

from tinysaver_mm.apis.exit_heads import oric_of
from tinysaver_mm.apis.records import instances_of, load_det_records
from tinysaver_mm.evaluation.functional import CocoEntries


def main():
    p = argparse.ArgumentParser(description='Agreement of two independent ORIC estimates')
    p.add_argument('records')
    p.add_argument('--start', type=int, default=0, help='first record used')
    p.add_argument('--stop', type=int, help='one past the last record used (default: all)')
    p.add_argument('--context', type=int, default=99)
    p.add_argument('--draws', type=int, default=2)
    a = p.parse_args()
    rec = load_det_records(a.records)
    sl = slice(a.start, a.stop)
    meta, ids = rec['meta'], rec['img_ids'][sl]
    s = CocoEntries(meta['ann_file'], ids, instances_of(rec, 'saver')[sl], meta['classes'])
    b = CocoEntries(meta['ann_file'], ids, instances_of(rec, 'base')[sl], meta['classes'],
                    coco=s.coco)
    one = oric_of(s, b, a.context, a.draws, seed=0)
    two = oric_of(s, b, a.context, a.draws, seed=1)
    print(f'{len(ids)} images, context {a.context}, {a.draws} draws, seeds 0 and 1: '
          f'Spearman {spearmanr(one, two).correlation:.3f}, '
          f'Pearson {np.corrcoef(one, two)[0, 1]:.3f}')


if __name__ == '__main__':
    main()
