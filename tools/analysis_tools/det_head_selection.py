"""Holdout-only checks behind the detection exit study's choices (no val image is read).

1. Each per-box token signal alone (score-weighted mean over an image's boxes, and the best
   box's value): Spearman with -ORIC and with -(per-image AP gain) on the holdout's
   calibration half.
2. The set head's and image-level head's Spearman on that half for weight decay 0.1 / 0.01 /
   0.001, fitted on the holdout's first half, and (with --train) on it plus the training
   split's records: the study's per-policy weight decay comes from here.

Example (after bash tools/det_exit_study.sh, whose ORIC cache it reuses):
    python tools/analysis_tools/det_head_selection.py \
        --holdout records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_holdout_det.npz \
        --flip-holdout records/det_holdout_flip.npz --train records/det_train_aug.npz
"""
import argparse

import numpy as np
import torch
from scipy.stats import spearmanr

from tinysaver_mm.apis.exit_heads import exit_targets, fit_det_head
from tinysaver_mm.apis.records import load_det_records
from tinysaver_mm.apis.studies.det_exit_study import _inputs, _Part
from tinysaver_mm.core import FLIP_PARTS, TOKEN_PARTS
from tinysaver_mm.models.detectors import TinySaverEvaluatorHead, TinySaverSetEvaluatorHead


def _sp(a, b):
    return spearmanr(a, b).correlation


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--holdout', required=True)
    p.add_argument('--flip-holdout', required=True)
    p.add_argument('--train')
    p.add_argument('--oric-context', type=int, default=99)
    p.add_argument('--oric-draws', type=int, default=2)
    p.add_argument('--oric-cache', default='records/oric')
    a = p.parse_args()
    rec = load_det_records(a.holdout)
    rec['path'] = a.holdout
    flip = load_det_records(a.flip_holdout)
    n = len(rec['img_ids'])
    fit = _Part('holdout_fit', rec, slice(0, n // 2), flip)
    cal = _Part('holdout_calib', rec, slice(n // 2, n), flip, coco=fit.saver.coco)
    for part in (fit, cal):
        part.with_oric(a.oric_context, a.oric_draws, a.oric_cache)
    head = TinySaverSetEvaluatorHead(rec['meta']['num_classes'], 10, 20, 32, 32, flip=True)
    _, tok, mask = head._split(_inputs(head, cal))
    weight = tok[:, :, 0] * mask
    for i, name in enumerate(TOKEN_PARTS + FLIP_PARTS):
        agg = ((tok[:, :, i] * weight).sum(1) / weight.sum(1).clamp(min=1e-6)).numpy()
        best = tok[:, 0, i].numpy()
        print(f'token {name:16s} score-weighted: rho(-ORIC) {_sp(agg, -cal.oric):+.3f} '
              f'rho(-gain) {_sp(agg, -cal.gap):+.3f} | best box: {_sp(best, -cal.oric):+.3f} '
              f'{_sp(best, -cal.gap):+.3f}')
    fits = {'holdout': [fit]}
    if a.train:
        train = load_det_records(a.train)
        train['path'] = a.train
        tp = _Part('train', train, slice(0, None)).with_oric(a.oric_context, a.oric_draws,
                                                              a.oric_cache)
        print('training-split records:', tp.summary())
        fits['holdout+train'] = [fit, tp]
    num_classes = rec['meta']['num_classes']
    for data, parts in fits.items():
        for kind in ('mlp', 'set'):
            for target in ('binary', 'oric'):
                for wd in (0.1, 0.01, 0.001):
                    h = TinySaverEvaluatorHead(num_classes, 10, 0, 32, target=target) \
                        if kind == 'mlp' else \
                        TinySaverSetEvaluatorHead(num_classes, 10, 20, 32, 32, target=target)
                    x = torch.cat([_inputs(h, q) for q in parts])
                    y = torch.from_numpy(np.concatenate(
                        [exit_targets(target, q.saver, q.base, 0.1, q.oric) for q in parts]))
                    fit_det_head(h, x, y, steps=300, weight_decay=wd)
                    s = h.score(_inputs(h, cal)).numpy()
                    print(f'{data:14s} {kind} {target:6s} wd={wd:<6}: rho(-ORIC) '
                          f'{_sp(s, -cal.oric):.3f} rho(-gain) {_sp(s, -cal.gap):.3f}')


if __name__ == '__main__':
    main()
