"""core.oric: ORIC against pycocotools on the merged detections of each context, and its refusals."""
import contextlib
import io
import json

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

pytest.importorskip('pycocotools')
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

from tinysaver_mm.core import dataset_ap, oric_scores  # noqa: E402
from tinysaver_mm.evaluation.functional import CocoEntries  # noqa: E402
from tinysaver_mm.testing.synthetic_coco import synthetic_coco  # noqa: E402


def _pycoco_map(gt, img_ids, instances):
    """pycocotools' AP@[.5:.95] of exactly these images and detections (NaN without GT)."""
    res = []
    for i, inst in zip(img_ids, instances):
        for b, s, lab in zip(inst.bboxes.tolist(), inst.scores.tolist(), inst.labels.tolist()):
            res.append(dict(image_id=i, category_id=lab + 1, score=s,
                            bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]]))
    with contextlib.redirect_stdout(io.StringIO()):
        if res:
            dt = gt.loadRes(res)
        else:
            dt = COCO()
            dt.dataset = dict(images=gt.dataset['images'], annotations=[],
                              categories=gt.dataset['categories'])
            dt.createIndex()
        ev = COCOeval(gt, dt, 'bbox')
        ev.params.imgIds = list(img_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float('nan') if ev.stats[0] < 0 else float(ev.stats[0])


def _entries(tmp_path, seed=0, num_images=24):
    ann, ids, saver, base = synthetic_coco(tmp_path, num_images=num_images, seed=seed)
    s = CocoEntries(ann, ids, saver)
    b = CocoEntries(ann, ids, base, coco=s.coco)
    return ids, saver, base, s, b


def test_oric_equals_pycocotools_on_each_contexts_merged_detections(tmp_path):
    ids, saver, base, s, b = _entries(tmp_path)
    context, draws, seed = 5, 3, 7
    ours = oric_scores(s.complete_by_image(), b.complete_by_image(), ids, context, draws, seed)
    # brute force: the same context draws, each set's detections merged and run through pycocotools
    rng = np.random.default_rng(seed)
    n = len(ids)
    ref = np.zeros(n)
    for k in range(n):
        others = np.delete(np.arange(n), k)
        diffs = []
        for _ in range(draws):
            ctx = list(rng.choice(others, context, replace=False))
            sets = [ids[j] for j in ctx] + [ids[k]]
            with_base = _pycoco_map(s.coco, sets, [saver[j] for j in ctx] + [base[k]])
            with_saver = _pycoco_map(s.coco, sets, [saver[j] for j in ctx] + [saver[k]])
            diffs.append(np.nan_to_num(with_base - with_saver, nan=0.0))
        ref[k] = (context + 1) * np.mean(diffs)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert np.any(ours != 0)


def test_oric_with_the_whole_set_as_context_is_the_leave_one_in_gain(tmp_path):
    """|E| = n - 1: every draw is the same context, so ORIC is n * (mAP with i by base - saver mAP)."""
    ids, _, _, s, b = _entries(tmp_path, seed=2, num_images=12)
    sv, bs = s.complete_by_image(), b.complete_by_image()
    n = len(ids)
    ours = oric_scores(sv, bs, ids, n - 1, 2, seed=0)
    assert np.allclose(ours, oric_scores(sv, bs, ids, n - 1, 1, seed=5))
    saver_map = dataset_ap(sv)
    for k, i in enumerate(ids):
        assert ours[k] == pytest.approx(n * (dataset_ap({**sv, i: bs[i]}) - saver_map), abs=1e-12)


def test_oric_is_positive_on_average_where_the_base_is_better(tmp_path):
    ids, _, _, s, b = _entries(tmp_path, seed=1, num_images=30)
    assert b.map() > s.map()
    ours = oric_scores(s.complete_by_image(), b.complete_by_image(), ids, 10, 4)
    assert ours.mean() > 0


def test_oric_refuses_a_context_larger_than_the_records(tmp_path):
    ids, _, _, s, b = _entries(tmp_path, num_images=10)
    with pytest.raises(ValueError, match=r'context_size=10 is larger than the 9 other images'):
        oric_scores(s.complete_by_image(), b.complete_by_image(), ids, 10, 1)
    with pytest.raises(ValueError, match='num_draws=0 must be a positive integer'):
        oric_scores(s.complete_by_image(), b.complete_by_image(), ids, 3, 0)


def test_oric_refuses_entries_missing_images(tmp_path):
    ann, ids, saver, _ = synthetic_coco(tmp_path, num_images=14)
    gt = json.loads(open(ann).read())  # one more image: no ground truth, no detection
    gt['images'].append(dict(id=99, width=100, height=80, file_name='99.png'))
    open(ann, 'w').write(json.dumps(gt))
    ids = ids + [99]
    empty = [InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                          labels=torch.zeros(0, dtype=torch.long)) for _ in ids]
    saver = saver + empty[:1]
    s = CocoEntries(ann, ids, empty)
    b = CocoEntries(ann, ids, saver, coco=s.coco)
    assert 99 not in s.by_image and s.complete_by_image()[99] == []
    with pytest.raises(ValueError, match=r'saver has no per-image COCO entries .*complete_by_image'):
        oric_scores(s.by_image, b.complete_by_image(), ids, 3, 1)
    partial = b.complete_by_image()
    del partial[ids[2]]
    with pytest.raises(ValueError, match=rf'base has no per-image COCO entries .*\[{ids[2]}\]'):
        oric_scores(s.complete_by_image(), partial, ids, 3, 1)
    oric_scores(s.complete_by_image(), b.complete_by_image(), ids, 3, 1)  # accepted


def test_oric_equals_the_difference_of_dataset_ap_brute_force(tmp_path):
    """A larger context than the pycocotools test, against core.dataset_ap on each set."""
    ids, _, _, s, b = _entries(tmp_path, seed=4, num_images=40)
    sv, bs = s.complete_by_image(), b.complete_by_image()
    context, draws, seed = 17, 2, 3
    ours = oric_scores(sv, bs, ids, context, draws, seed)
    rng = np.random.default_rng(seed)
    n = len(ids)
    for k in range(n):
        others = np.delete(np.arange(n), k)
        diffs = []
        for _ in range(draws):
            ctx = {ids[j]: sv[ids[j]] for j in rng.choice(others, context, replace=False)}
            diffs.append(np.nan_to_num(dataset_ap({**ctx, ids[k]: bs[ids[k]]})
                                       - dataset_ap({**ctx, ids[k]: sv[ids[k]]}), nan=0.0))
        assert ours[k] == pytest.approx((context + 1) * np.mean(diffs), abs=1e-12)
