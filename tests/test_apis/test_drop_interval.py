"""The drop interval's pairing: from records at thresholds, and from two test runs'
per-image predictions, against the cascade computed by hand from the same arrays."""
import pickle

import numpy as np
import pytest
import torch

from tinysaver_mm.apis import (format_drop_interval, load_correct, predictions_drop_interval,
                               records_drop_interval)
from tinysaver_mm.core import paired_drop_interval
from tinysaver_mm.testing import cls_records


def test_records_at_a_threshold_pair_the_cascade_with_the_base(tmp_path):
    s, b = cls_records.pair(tmp_path, n=1500)
    saver, base = np.load(s), np.load(b)
    t = 0.6
    exits = saver['conf_max_prob'] >= t
    cascade_right = np.where(exits, saver['pred'] == saver['labels'],
                             base['pred'] == base['labels'])
    ref = paired_drop_interval(base['pred'] == base['labels'], cascade_right)
    got = records_drop_interval([s, b], [t])
    assert got == ref
    assert got['lost'] == int(np.sum((base['pred'] == base['labels']) & ~cascade_right))
    with pytest.raises(ValueError, match='need 1 thresholds'):
        records_drop_interval([s, b], [0.5, 0.6])


def _dump(path, idx, pred, gt):
    samples = [dict(sample_idx=int(i), pred_label=torch.tensor([int(p)]),
                    gt_label=torch.tensor([int(g)])) for i, p, g in zip(idx, pred, gt)]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return str(path)


def test_predictions_are_paired_by_sample_index(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    gt = rng.integers(0, 10, n)
    base = np.where(rng.random(n) < 0.9, gt, (gt + 1) % 10)
    casc = np.where(rng.random(n) < 0.05, (gt + 2) % 10, base)
    order = rng.permutation(n)  # the cascade's dump is in another order
    ref = _dump(tmp_path / 'base.pkl', np.arange(n), base, gt)
    new = _dump(tmp_path / 'casc.pkl', order, casc[order], gt[order])
    got = predictions_drop_interval(ref, new)
    assert got == paired_drop_interval(base == gt, casc == gt)
    line = format_drop_interval(got, 'base.pkl')
    assert f'{100 * got["drop"]:+.2f} points' in line and f'{n} images' in line


def test_records_as_the_reference(tmp_path):
    s, b = cls_records.pair(tmp_path, n=300)
    rec = np.load(b)
    idx, ok = load_correct(b)
    assert idx.tolist() == rec['sample_idx'].tolist()
    assert ok.tolist() == (rec['pred'] == rec['labels']).tolist()


def test_other_images_or_other_files_are_refused(tmp_path):
    ref = _dump(tmp_path / 'a.pkl', range(10), [1] * 10, [1] * 10)
    other = _dump(tmp_path / 'b.pkl', range(5, 15), [1] * 10, [1] * 10)
    with pytest.raises(ValueError, match='not the same images'):
        predictions_drop_interval(ref, other)
    twice = _dump(tmp_path / 'c.pkl', [0] * 10, [1] * 10, [1] * 10)
    with pytest.raises(ValueError, match='more than once'):
        predictions_drop_interval(ref, twice)
    with open(tmp_path / 'det.pkl', 'wb') as f:
        pickle.dump([dict(sample_idx=0, pred_instances={})], f)
    with pytest.raises(ValueError, match="classifier's"):
        load_correct(str(tmp_path / 'det.pkl'))
    with pytest.raises(FileNotFoundError, match='tools/test.py'):
        load_correct(str(tmp_path / 'none.pkl'))
    (tmp_path / 'x.txt').write_text('x')
    with pytest.raises(ValueError, match='.pkl of tools/test.py'):
        load_correct(str(tmp_path / 'x.txt'))
