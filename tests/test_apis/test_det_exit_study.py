"""apis.studies.det_exit_study and exit_heads.det_targets on synthetic detection records."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('pycocotools')

from tinysaver_mm.apis.studies import det_exit_study, study_table  # noqa: E402
from tinysaver_mm.apis.exit_heads import exit_targets, oric_of  # noqa: E402
from tinysaver_mm.apis.records.det_records import _pack, instances_of, load_det_records  # noqa: E402
from tinysaver_mm.evaluation.functional import CocoEntries, routed_figures  # noqa: E402
from tinysaver_mm.testing.synthetic_coco import synthetic_coco  # noqa: E402
from tinysaver_mm.utils import OutputExistsError  # noqa: E402


def _records(folder, num_images, seed, name):
    folder.mkdir(exist_ok=True)
    ann, ids, saver, base = synthetic_coco(folder, num_images=num_images, seed=seed)
    arrays = dict(img_ids=np.array(ids), ori_shapes=np.tile([80, 100], (len(ids), 1)),
                  saver_feats=np.zeros((len(ids), 2), np.float32),
                  macs_saver=np.full(len(ids), 10 ** 6), macs_base=np.full(len(ids), 10 ** 8))
    for role, inst in (('saver', saver), ('base', base)):
        arrays.update({f'{role}_{k}': v for k, v in _pack(inst).items()})
    meta = dict(ann_file=str(ann), classes=None, num_classes=3, saver_fingerprint='ab' * 32)
    path = str(folder / f'{name}.npz')
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return path


def test_oric_target_is_the_share_of_images_with_a_larger_oric(tmp_path):
    rec = load_det_records(_records(tmp_path / 'h', 30, 1, 'h'))
    ids = rec['img_ids']
    s = CocoEntries(rec['meta']['ann_file'], ids, instances_of(rec, 'saver'))
    b = CocoEntries(rec['meta']['ann_file'], ids, instances_of(rec, 'base'), coco=s.coco)
    oric = oric_of(s, b, 10, 2)
    y = exit_targets('oric', s, b, oric=oric)
    for i in range(len(ids)):
        larger = np.sum(oric > oric[i]) + 0.5 * (np.sum(oric == oric[i]) - 1)
        assert y[i] == pytest.approx(larger / (len(ids) - 1))
    with pytest.raises(ValueError, match='not an evaluator target'):
        exit_targets('gain', s, b)


def test_study_reports_every_policy_with_holdout_and_val_thresholds(tmp_path):
    hold = _records(tmp_path / 'h', 80, 3, 'holdout')
    val = _records(tmp_path / 'v', 60, 4, 'val')
    out = str(tmp_path / 'study.json')
    s = det_exit_study(hold, val, out, oric_context=20, oric_draws=2, steps=30,
                       policies=['head_oric', 'set_binary'], log=lambda *_: None)
    assert set(s['study']) == {'max_score', 'mean_topk', 'head_oric', 'set_binary',
                               'oracle_gain', 'oracle_oric'}
    assert (tmp_path / 'study.png').exists()
    # the honest point is the holdout threshold applied to val, recomputed here
    rec = load_det_records(val)
    sv = CocoEntries(rec['meta']['ann_file'], rec['img_ids'], instances_of(rec, 'saver'))
    bs = CocoEntries(rec['meta']['ann_file'], rec['img_ids'], instances_of(rec, 'base'),
                     coco=sv.coco)
    from tinysaver_mm.core import det_confidence
    score = det_confidence([p.scores for p in instances_of(rec, 'saver')]).numpy()
    score = np.where([len(p.scores) == 0 for p in instances_of(rec, 'saver')], -np.inf, score)
    at = s['study']['max_score']['at']['0.01']
    macs = dict(saver=rec['macs_saver'] * 1.0, base=rec['macs_base'] * 1.0,
                evaluator=np.zeros(len(score)))
    row = routed_figures(sv, bs, score, at['holdout_threshold'], macs)
    assert at['val_holdout_fitted']['map'] == pytest.approx(row['map'])
    assert at['val_best_threshold']['map_drop'] <= 0.01 + 1e-12
    assert at['val_best_threshold']['macs_saved_pct'] >= \
        at['val_holdout_fitted']['macs_saved_pct'] - 1e-9 or \
        not at['val_holdout_fitted']['within_drop']
    assert -1 <= s['signal']['head_oric']['holdout_calib']['spearman_neg_oric'] <= 1
    table = study_table(s).splitlines()
    assert len(table) == 2 + len(s['study'])
    h = at['val_holdout_fitted']
    assert f"| `max_score` | " in table[2] and f"{h['macs_saved_pct']:.1f} %" in table[2]
    with pytest.raises(OutputExistsError):
        det_exit_study(hold, val, out, oric_context=20, oric_draws=2, log=lambda *_: None)
    with pytest.raises(ValueError, match='larger than the 39 other images'):
        det_exit_study(hold, val, str(tmp_path / 'x.json'), oric_context=200, oric_draws=1,
                       policies=['head_oric'], log=lambda *_: None)


def test_train_evaluator_chooses_the_target_on_the_calibration_half(tmp_path):
    from tinysaver_mm.apis import train_evaluator
    from tinysaver_mm.models.detectors import TinySaverSetEvaluatorHead
    from tinysaver_mm.utils import load_checkpoint_strict
    hold = _records(tmp_path / 'h', 120, 3, 'holdout')
    extra = _records(tmp_path / 'e', 60, 5, 'extra')
    out = str(tmp_path / 'ev.pth')
    s = train_evaluator(hold, out, max_drop=0.02, target='auto', head_type='set',
                        extra_records=extra, oric_context=20, oric_draws=1, steps=30)
    choice = s['target_choice']['calib_macs_saved_pct']
    assert set(choice) == {'binary', 'oric'}
    assert s['exit_target'] == max(choice, key=lambda t: (choice[t], t == 'binary'))
    assert s['num_fit_extra'] == 60 and s['head_cfg']['target'] == s['exit_target']
    cfg = {k: v for k, v in s['head_cfg'].items() if k != 'type'}
    load_checkpoint_strict(TinySaverSetEvaluatorHead(**cfg), out)
    other = 'oric' if s['exit_target'] == 'binary' else 'binary'
    with pytest.raises(ValueError, match=f"configured with target='{other}'"):
        load_checkpoint_strict(TinySaverSetEvaluatorHead(**dict(cfg, target=other)), out)
    with pytest.raises(ValueError, match='larger than the 59 other images'):
        train_evaluator(hold, str(tmp_path / 'x.pth'), target='oric', extra_records=extra,
                        oric_context=100, oric_draws=1, steps=5)
    with pytest.raises(ValueError, match="target='gain'"):
        train_evaluator(hold, str(tmp_path / 'x.pth'), target='gain')


def test_study_extends_the_train_evaluator_summary_of_the_same_records(tmp_path):
    hold = _records(tmp_path / 'h', 80, 3, 'holdout')
    val = _records(tmp_path / 'v', 60, 4, 'val')
    summary = tmp_path / 'ev.json'
    summary.write_text(json.dumps(dict(records=hold, policies={'x': 1})))
    kw = dict(oric_context=20, oric_draws=1, steps=5, policies=['head_binary'],
              log=lambda *_: None, extend=True)
    with pytest.raises(OutputExistsError):
        det_exit_study(hold, val, str(summary), **kw)
    det_exit_study(hold, val, str(summary), overwrite=True, **kw)
    got = json.loads(summary.read_text())
    assert got['policies'] == {'x': 1} and 'head_binary' in got['study']['study']
    assert (tmp_path / 'ev_study.png').exists()
    summary.write_text(json.dumps(dict(records=val)))
    with pytest.raises(ValueError, match='not the holdout records'):
        det_exit_study(hold, val, str(summary), overwrite=True, **kw)
