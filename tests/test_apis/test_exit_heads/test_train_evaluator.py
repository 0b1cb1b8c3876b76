"""tools/train_evaluator.py's library function on synthetic detection records."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('pycocotools')

from tinysaver_mm.apis import train_evaluator  # noqa: E402
from tinysaver_mm.evaluation.functional import CocoEntries, routed_figures  # noqa: E402
from tinysaver_mm.apis.records.det_records import (_pack, instances_of,  # noqa: E402
                                                   load_det_records)
from tinysaver_mm.core import quality_gap  # noqa: E402
from tinysaver_mm.models.detectors import TinySaverEvaluatorHead  # noqa: E402
from tinysaver_mm.utils import load_checkpoint_strict  # noqa: E402
from tinysaver_mm.testing.synthetic_coco import synthetic_coco  # noqa: E402


def _records(tmp_path, num_images=160):
    ann, ids, saver, base = synthetic_coco(tmp_path, num_images=num_images, seed=3)
    gap = quality_gap(CocoEntries(ann, ids, saver).image_ap(),
                      CocoEntries(ann, ids, base).image_ap())
    rng = np.random.default_rng(0)
    # a pooled "neck feature" that carries the per-image gap (plus noise)
    feats = np.stack([gap + rng.normal(0, 0.05, len(ids)), rng.normal(size=len(ids))], 1)
    arrays = dict(img_ids=np.array(ids), ori_shapes=np.tile([80, 100], (len(ids), 1)),
                  saver_feats=feats.astype(np.float32),
                  macs_saver=np.full(len(ids), 10 ** 6), macs_base=np.full(len(ids), 10 ** 8))
    for role, inst in (('saver', saver), ('base', base)):
        arrays.update({f'{role}_{k}': v for k, v in _pack(inst).items()})
    meta = dict(ann_file=ann, classes=None, num_classes=3, saver_fingerprint='ab' * 32,
                split='holdout')
    path = str(tmp_path / 'rec.npz')
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return path, gap


def test_train_evaluator_learns_the_gap_and_calibrates_within_the_drop(tmp_path):
    path, gap = _records(tmp_path)
    out = str(tmp_path / 'ev.pth')
    s = train_evaluator(path, out, max_drop=0.02, calib_fraction=0.5, use_features=True,
                        results=str(tmp_path / 'summary.json'))
    head = TinySaverEvaluatorHead(**{k: v for k, v in s['head_cfg'].items() if k != 'type'})
    ckpt = load_checkpoint_strict(head, out)
    assert head.trained_for == bytes.fromhex('ab' * 32)
    assert ckpt['meta']['threshold'] == s['policies']['evaluator']['threshold']
    assert set(s['policies']) == {'evaluator', 'max_score', 'mean_topk', 'oracle'}
    assert s['auc_calib']['evaluator'] > 0.8  # the informative feature was learned
    # every calibrated point keeps the drop on the calibration images, recomputed here
    rec = load_det_records(path)
    cal = slice(s['num_fit'], None)
    sv = CocoEntries(rec['meta']['ann_file'], rec['img_ids'][cal], instances_of(rec, 'saver')[cal])
    bs = CocoEntries(rec['meta']['ann_file'], rec['img_ids'][cal], instances_of(rec, 'base')[cal],
                     coco=sv.coco)
    x = head.inputs(instances_of(rec, 'saver'), rec['ori_shapes'].tolist(),
                    torch.from_numpy(rec['saver_feats']))
    score = head.score(x).numpy()[cal]
    macs = dict(saver=rec['macs_saver'][cal] * 1.0, base=rec['macs_base'][cal] * 1.0,
                evaluator=np.zeros(len(score)))
    row = routed_figures(sv, bs, score, s['policies']['evaluator']['threshold'], macs)
    assert bs.map() - row['map'] <= 0.02 + 1e-9
    assert row['exit_ratio'] == pytest.approx(s['policies']['evaluator']['exit_ratio'])


def test_train_evaluator_refuses_bad_arguments(tmp_path):
    path, _ = _records(tmp_path, num_images=30)
    with pytest.raises(ValueError, match='calib_fraction'):
        train_evaluator(path, str(tmp_path / 'ev.pth'), calib_fraction=1.0)
    with pytest.raises(ValueError, match='max_drop'):
        train_evaluator(path, str(tmp_path / 'ev.pth'), max_drop=5)
    with pytest.raises(ValueError, match='too few'):
        train_evaluator(path, str(tmp_path / 'ev.pth'), calib_fraction=0.9)
    with pytest.raises(FileNotFoundError, match='record'):
        train_evaluator(str(tmp_path / 'none.npz'), str(tmp_path / 'ev.pth'))
