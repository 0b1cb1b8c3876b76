"""TinySaverSegReport on synthetic routed samples, against mmseg's IoUMetric."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')

from tinysaver_mm.evaluation.metrics import TinySaverSegReport  # noqa: E402
from tinysaver_mm.utils import OutputExistsError  # noqa: E402
from tinysaver_mm.testing.seg_data import C, iou_metric as _iou_metric  # noqa: E402
from tinysaver_mm.testing.seg_data import noisy_segmentations as _images  # noqa: E402


def _samples(n=24, seed=0, threshold=0.5):
    gts, savers, bases = _images(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    exited = score >= threshold
    out = []
    for i in range(n):
        px = lambda a: dict(data=torch.from_numpy(a)[None])  # noqa: E731
        out.append(dict(
            gt_sem_seg=px(gts[i]), saver_sem_seg=px(savers[i]), base_sem_seg=px(bases[i]),
            pred_sem_seg=px(savers[i] if exited[i] else bases[i]), exited=bool(exited[i]),
            policy_scores=dict(mean_max_prob=float(score[i]), mean_entropy=float(rng.random())),
            exit_rule='mean_max_prob', threshold=threshold, num_classes=C,
            macs=10.0 + (0 if exited[i] else 100.0), macs_saver=10.0, macs_base=100.0))
    return out, gts, savers, bases, exited


def test_report_figures_equal_iou_metric_and_are_written(tmp_path):
    samples, gts, savers, bases, exited = _samples()
    out = str(tmp_path / 'demo_seg.json')
    metric = TinySaverSegReport(policies=dict(mean_max_prob=0.5, mean_entropy=0.3),
                                out_file=out)
    metric.process({}, samples)
    flat = metric.compute_metrics(metric.results)
    merged = [s if e else b for s, b, e in zip(savers, bases, exited)]
    for key, preds in (('saver_miou', savers), ('base_miou', bases), ('cascade_miou', merged)):
        per_class = _iou_metric(preds, gts)[1]
        assert flat[key] == pytest.approx(100 * np.nanmean(per_class), rel=1e-6)
    rep = json.load(open(out))
    for key in ('saver_miou', 'base_miou', 'cascade_miou', 'exit_ratio', 'gmacs_saver',
                'gmacs_base', 'gmacs_evaluator', 'gmacs_cascade', 'macs_saved_pct',
                'threshold'):
        assert key in rep
    assert rep['exit_ratio'] == exited.mean()
    assert rep['macs_saved_pct'] == pytest.approx(100 * (1 - (10 + 100 * (~exited)).sum()
                                                         / (100 * len(exited))))
    rows = {r['policy']: r for r in rep['policies']}
    assert set(rows) == {'mean_max_prob', 'mean_entropy', 'oracle'}
    # the routed policy at its own threshold is the cascade itself
    assert rows['mean_max_prob']['calibrated_miou'] == pytest.approx(flat['cascade_miou'] / 100)
    assert rows['mean_max_prob']['calibrated_exit_ratio'] == rep['exit_ratio']
    drop = (flat['base_miou'] - flat['cascade_miou']) / 100
    for r in rows.values():
        assert flat['base_miou'] / 100 - r['equal_drop_miou'] <= max(drop, 0) + 1e-12
    assert rows['oracle']['equal_drop_macs_saved_pct'] >= \
        rows['mean_max_prob']['equal_drop_macs_saved_pct'] - 1e-9
    assert (tmp_path / 'demo_seg.png').stat().st_size > 0


def test_report_refuses_missing_fields_existing_files_and_bad_policies(tmp_path):
    samples = _samples(n=3)[0]
    metric = TinySaverSegReport()
    with pytest.raises(KeyError, match='report=True'):
        metric.process({}, [{k: v for k, v in samples[0].items() if k != 'base_sem_seg'}])
    with pytest.raises(KeyError, match='gt_sem_seg'):
        metric.process({}, [{k: v for k, v in samples[0].items() if k != 'gt_sem_seg'}])
    with pytest.raises(ValueError, match='dataset is empty'):
        metric.compute_metrics([])
    out = tmp_path / 'r.json'
    out.write_text('mine')
    with pytest.raises(OutputExistsError, match='overwrite=True'):
        TinySaverSegReport(out_file=str(out))
    assert out.read_text() == 'mine'
    summary = tmp_path / 'ev.json'
    summary.write_text(json.dumps(dict(policies=dict(evaluator=dict(threshold=0.4)))))
    assert TinySaverSegReport(policies=str(summary)).policies == dict(evaluator=0.4)
    with pytest.raises(FileNotFoundError, match='train_evaluator.py --results'):
        TinySaverSegReport(policies=str(tmp_path / 'none.json'))
    summary.write_text('{}')
    with pytest.raises(ValueError, match='no "policies"'):
        TinySaverSegReport(policies=str(summary))
    with pytest.raises(ValueError, match="'x' has threshold 'a'"):
        TinySaverSegReport(policies=dict(x='a'))
