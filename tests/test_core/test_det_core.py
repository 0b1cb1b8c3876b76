"""Detection pieces of core/: per-image and routed COCO AP against pycocotools, exit scores."""
import contextlib
import io

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

pytest.importorskip('pycocotools')
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

from tinysaver_mm.evaluation.functional import (CocoEntries, routed_map,  # noqa: E402
                                                threshold_at, threshold_for_drop)
from tinysaver_mm.core import (det_confidence, detection_features,  # noqa: E402
                               exit_target, feature_dim, quality_gap)
from tinysaver_mm.testing.synthetic_coco import synthetic_coco  # noqa: E402


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())




def _pycoco_map(ann_file, img_ids, instances):
    """Reference: pycocotools on exactly these images and detections."""
    with _quiet():
        gt = COCO(ann_file)
        res = []
        for i, inst in zip(img_ids, instances):
            for b, s, l in zip(inst.bboxes.tolist(), inst.scores.tolist(), inst.labels.tolist()):
                res.append(dict(image_id=i, category_id=l + 1, score=s,
                                bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]]))
        ev = COCOeval(gt, gt.loadRes(res), 'bbox')
        ev.params.imgIds = list(img_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


def test_image_ap_equals_pycocotools_on_each_image_alone(tmp_path):
    ann, ids, saver, _ = synthetic_coco(tmp_path)
    entries = CocoEntries(ann, ids, saver)
    ours = entries.image_ap()
    for k in range(0, len(ids), 3):
        ref = _pycoco_map(ann, [ids[k]], [saver[k]])
        if ref < 0:  # no ground truth: pycocotools says -1
            assert np.isnan(ours[k])
        else:
            assert ours[k] == pytest.approx(ref, abs=1e-12)


def test_dataset_and_routed_map_equal_pycocotools_on_merged_detections(tmp_path):
    ann, ids, saver, base = synthetic_coco(tmp_path, seed=1)
    s = CocoEntries(ann, ids, saver)
    b = CocoEntries(ann, ids, base, coco=s.coco)
    assert s.map() == pytest.approx(_pycoco_map(ann, ids, saver), abs=1e-12)
    assert b.map() == pytest.approx(_pycoco_map(ann, ids, base), abs=1e-12)
    exits = np.random.default_rng(0).random(len(ids)) < 0.5
    merged = [sv if e else bs for sv, bs, e in zip(saver, base, exits)]
    assert routed_map(s, b, exits) == pytest.approx(_pycoco_map(ann, ids, merged), abs=1e-12)
    assert b.map() > s.map()  # the generator's better detector is better


def test_coco_entries_refuse_images_missing_from_annotations(tmp_path):
    ann, ids, saver, _ = synthetic_coco(tmp_path)
    with pytest.raises(ValueError, match='not in'):
        CocoEntries(ann, ids[:3] + [9999], saver[:4])


def test_coco_entries_with_no_detection_at_all(tmp_path):
    ann, ids, saver, _ = synthetic_coco(tmp_path)
    empty = [InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                          labels=torch.zeros(0, dtype=torch.long)) for _ in ids]
    e = CocoEntries(ann, ids, empty)
    assert e.map() == 0.0
    ap = e.image_ap()
    assert np.all((ap == 0) | np.isnan(ap))


def test_simple_rules_against_brute_force():
    scores = [torch.tensor([0.2, 0.9, 0.5]), torch.tensor([]), torch.tensor([0.4])]
    assert det_confidence(scores, 'max_score').tolist() == pytest.approx([0.9, 0.0, 0.4])
    assert det_confidence(scores, 'mean_topk', k=2).tolist() == pytest.approx(
        [(0.9 + 0.5) / 2, 0.0, 0.4 / 2])
    with pytest.raises(ValueError, match='Unknown detection exit rule'):
        det_confidence(scores, 'max_prob')
    with pytest.raises(ValueError, match='k=0'):
        det_confidence(scores, 'mean_topk', k=0)


def test_detection_features_are_order_free_and_padded():
    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(7, 2, generator=g) * 50
    boxes = torch.cat([boxes, boxes + 10 + torch.rand(7, 2, generator=g) * 20], 1)
    scores, labels = torch.rand(7, generator=g), torch.randint(0, 4, (7, ), generator=g)
    f = detection_features(scores, labels, boxes, (100, 120), 4, topk=10)
    assert f.shape == (feature_dim(4, 10), )
    perm = torch.randperm(7, generator=g)
    assert torch.allclose(f, detection_features(scores[perm], labels[perm], boxes[perm],
                                                (100, 120), 4, topk=10))
    assert torch.equal(f[:10][7:], torch.zeros(3))  # 7 detections, 3 padded slots
    assert f[:7].tolist() == sorted(scores.tolist(), reverse=True)
    hist = f[-4:]
    assert hist.sum().item() == pytest.approx(1.0)
    empty = detection_features(torch.zeros(0), torch.zeros(0, dtype=torch.long),
                               torch.zeros(0, 4), (100, 120), 4, topk=10)
    assert torch.equal(empty, torch.zeros(feature_dim(4, 10)))
    with pytest.raises(ValueError, match='outside'):
        detection_features(scores, labels + 4, boxes, (100, 120), 4)


def test_gap_target_and_tie_tolerant_threshold():
    gap = quality_gap(np.array([0.5, np.nan, 0.9]), np.array([0.7, np.nan, 0.8]))
    assert gap.tolist() == pytest.approx([0.2, 0.0, -0.1])
    assert exit_target(gap, 0.05).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match='same images'):
        quality_gap(np.zeros(2), np.zeros(3))
    score = np.array([0.9, 0.5, 0.5, 0.1])
    assert threshold_at(score, 0.0) == float('inf')
    assert threshold_at(score, 0.5) == 0.5 and (score >= 0.5).sum() == 3  # ties exit together
    curve = [dict(threshold=1.0, map=0.50, macs_saved_pct=0.0),
             dict(threshold=0.6, map=0.495, macs_saved_pct=40.0),
             dict(threshold=0.2, map=0.47, macs_saved_pct=80.0)]
    assert threshold_for_drop(curve, 0.50, 0.01)['threshold'] == 0.6
    assert threshold_for_drop(curve, 0.50, 0.0)['threshold'] == 1.0
