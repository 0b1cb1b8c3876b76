"""Dataset-level mIoU of routed segmentation cascades vs mmseg's own IoUMetric."""
import numpy as np
import pytest

from tinysaver_mm.core import MapDropCalibrator, MIoUDropCalibrator
from tinysaver_mm.evaluation.functional import (areas_miou, cascade_miou_curve, image_areas,
                                                image_iou_gap, routed_miou,
                                                routed_seg_figures, threshold_at)
from tinysaver_mm.testing.seg_data import C
from tinysaver_mm.testing.seg_data import iou_metric as _iou_metric
from tinysaver_mm.testing.seg_data import noisy_segmentations as _images

pytest.importorskip('mmseg')


def _areas(preds, gts):
    return np.stack([image_areas(p, g, C) for p, g in zip(preds, gts)])


def test_image_areas_equal_iou_metrics_intersect_and_union():
    gts, savers, _ = _images()
    _, _, results = _iou_metric(savers, gts)
    for ours, theirs in zip(_areas(savers, gts), results):
        assert np.array_equal(ours, np.stack([t.numpy() for t in theirs]).astype(np.int64))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_routed_miou_equals_iou_metric_on_the_merged_predictions(seed):
    gts, savers, bases = _images(seed=seed)
    exits = np.random.default_rng(seed).random(len(gts)) < 0.5
    merged = [s if e else b for s, b, e in zip(savers, bases, exits)]
    summary, per_class, _ = _iou_metric(merged, gts)
    ours = routed_miou(_areas(savers, gts), _areas(bases, gts), exits)
    # IoUMetric sums float32 histograms: equal to float32 precision
    assert ours == pytest.approx(float(np.nanmean(per_class)), rel=1e-6)
    assert round(100 * ours, 2) == pytest.approx(summary, abs=1e-9)


def test_a_class_absent_everywhere_is_left_out_as_iou_metric_does():
    gt = np.zeros((4, 4), np.int64)
    gt[:2] = 1
    pred = gt.copy()
    pred[0, 0] = 0
    summary, per_class, _ = _iou_metric([pred], [gt])
    assert np.isnan(per_class[2:]).all()             # classes 2..4: union 0
    assert areas_miou(image_areas(pred, gt, C)) == pytest.approx(np.nanmean(per_class))


def test_curve_rows_are_the_brute_force_routing_at_each_threshold():
    gts, savers, bases = _images(n=20, seed=4)
    sa, ba = _areas(savers, gts), _areas(bases, gts)
    score = np.random.default_rng(1).random(20)
    macs = dict(saver=np.full(20, 10), base=np.full(20, 100))
    curve = cascade_miou_curve(sa, ba, score, macs, exit_grid=(0.0, 0.25, 0.5, 1.0))
    for row in curve:
        exits = score >= row['threshold']
        merged = [s if e else b for s, b, e in zip(savers, bases, exits)]
        assert row['miou'] == pytest.approx(np.nanmean(_iou_metric(merged, gts)[1]))
        spent = 10 + 100 * (~exits)
        assert row['macs_saved_pct'] == pytest.approx(100 * (1 - spent.sum() / 2000))
        assert row['exit_ratio'] == exits.mean()
    assert curve[0]['exit_ratio'] == 0 and curve[0]['miou'] == pytest.approx(areas_miou(ba))
    assert curve[-1]['exit_ratio'] == 1 and curve[-1]['miou'] == pytest.approx(areas_miou(sa))
    row = routed_seg_figures(sa, ba, score, threshold_at(score, 0.5), macs)
    assert row == curve[2]
    # NaN scores never exit
    nan_score = score.copy()
    nan_score[:5] = np.nan
    assert not (routed_seg_figures(sa, ba, nan_score, 0.0, macs)['exit_ratio'] > 0.75)


def test_miou_drop_calibrator_picks_the_most_macs_saved_within_the_drop():
    gts, savers, bases = _images(n=30, seed=5)
    sa, ba = _areas(savers, gts), _areas(bases, gts)
    # a score that knows which images the saver does well on
    score = 1.0 - image_iou_gap(sa, ba)
    macs = dict(saver=np.full(30, 10), base=np.full(30, 100))
    curve = cascade_miou_curve(sa, ba, score, macs)
    base_miou = areas_miou(ba)
    for drop in (0.0, 0.01, 0.05, 1.0):
        cal = MIoUDropCalibrator(drop).fit(curve, base_miou)
        within = [r for r in curve if base_miou - r['miou'] <= drop + 1e-12]
        assert cal.macs_saved_pct_ == max(r['macs_saved_pct'] for r in within)
        assert cal.miou_drop_ <= drop + 1e-12 and cal.base_miou_ == base_miou
    assert MIoUDropCalibrator(1.0).fit(curve, base_miou).row_['exit_ratio'] == 1.0
    with pytest.raises(ValueError, match='No row of the mIoU curve'):
        MIoUDropCalibrator(0.0).fit([dict(curve[-1], miou=base_miou - 0.5)], base_miou)
    with pytest.raises(ValueError, match='max_drop=2 must be in \\[0, 1\\].*mIoU point'):
        MIoUDropCalibrator(2)
    # the detection calibrator is the same rule on another key
    rows = [dict(r, map=r.pop('miou')) for r in [dict(r) for r in curve]]
    assert MapDropCalibrator(0.01).fit(rows, base_miou).threshold_ == \
        MIoUDropCalibrator(0.01).fit(curve, base_miou).threshold_


def test_image_iou_gap_is_the_mean_over_present_classes():
    gts, savers, bases = _images(n=6, seed=6)
    gap = image_iou_gap(_areas(savers, gts), _areas(bases, gts))
    for g, s, b, got in zip(gts, savers, bases, gap):
        present = [c for c in range(C) if (g == c).any()]
        def iou(p, c):
            m = g != 255
            inter = ((p == c) & (g == c) & m).sum()
            return inter / max(((p == c) & m).sum() + ((g == c) & m).sum() - inter, 1)
        assert got == pytest.approx(np.mean([iou(b, c) - iou(s, c) for c in present]))


def test_bad_label_maps_are_refused_by_value():
    gt = np.zeros((3, 3), np.int64)
    gt[0, 0], gt[1, 1] = 7, 255
    with pytest.raises(ValueError, match=r'label values \[7\] are outside the 5 classes'):
        image_areas(np.zeros((3, 3)), gt, C)
    with pytest.raises(ValueError, match=r'prediction \(3, 4\) and label \(3, 3\)'):
        image_areas(np.zeros((3, 4)), np.zeros((3, 3)), C)
