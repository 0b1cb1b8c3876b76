"""TinySaverDetector: routing against each detector alone, MACs, bad input."""
import copy

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import tinysaver_mm  # noqa: E402,F401
from tinysaver_mm.models.detectors import TinySaverDetector  # noqa: E402
from tinysaver_mm.testing.det_stages import det_batch as batch  # noqa: E402
from tinysaver_mm.testing.det_stages import rtmdet_cfg as rtmdet  # noqa: E402
from tinysaver_mm.utils import measure_macs, state_dict_fingerprint  # noqa: E402


@pytest.fixture(autouse=True)
def mmdet_scope():
    """mmdet's default scope for these tests only (other modules use mmpretrain's)."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def cascade(threshold=0.5, exit_rule='max_score', **kw):
    cfg = dict(type='TinySaverDetector', saver=rtmdet(0.125), base=rtmdet(0.25, channels=48),
               threshold=threshold, exit_rule=exit_rule)
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def alone(model, role, imgs, samples):
    """Reference: one detector on the whole batch, by its own preprocessor."""
    preds, _ = model.branches[role].predict(imgs, samples)
    return preds


def same(a, b):
    return torch.allclose(a.bboxes, b.bboxes, atol=1e-4) and \
        torch.allclose(a.scores, b.scores, atol=1e-6) and torch.equal(a.labels, b.labels)


def median_threshold(model, imgs, samples):
    from tinysaver_mm.core import det_confidence
    conf = det_confidence([p.scores for p in alone(model, 'saver', imgs, samples)])
    return float(conf.median())


def test_registered_in_mmdet_models():
    assert MODELS.get('TinySaverDetector') is TinySaverDetector
    assert MODELS.get('TinySaverEvaluatorHead') is not None


def test_routing_matches_each_detector_alone_and_base_sees_only_the_rest():
    model = cascade()
    imgs, samples = batch()
    model.threshold = median_threshold(model, imgs, samples)
    saver_ref = alone(model, 'saver', imgs, samples)
    base_ref = alone(model, 'base', imgs, samples)
    seen = []
    real = model.base.predict
    model.base.predict = lambda x, s, rescale=True: seen.append(len(x)) or real(x, s, rescale)
    out = model.predict(imgs, copy.deepcopy(samples))
    exited = [ds.exited for ds in out]
    assert 0 < sum(exited) < len(out)
    assert seen == [len(out) - sum(exited)]  # one call, only the images that stayed
    for ds, s, b in zip(out, saver_ref, base_ref):
        assert same(ds.pred_instances, s if ds.exited else b)
        assert ds.answered_by == ('saver' if ds.exited else 'base')
        assert ds.exited == (ds.exit_score >= model.threshold)


def test_base_never_runs_when_everything_exits_and_empty_batch():
    model = cascade(threshold=0.0)
    imgs, samples = batch(3)
    model.base.predict = lambda *a, **k: pytest.fail('base ran on an empty batch')
    out = model.predict(imgs, samples)
    assert all(ds.exited for ds in out)
    assert model.predict([], []) == []


def test_macs_add_up_and_match_each_detector_measured_alone():
    model = cascade()
    imgs, samples = batch(4)
    model.threshold = median_threshold(model, imgs, samples)
    out = model.predict(imgs, samples)
    for role in ('saver', 'base'):
        x, s = model.branches[role].preprocess(*model.branches[role].prepare(imgs[:1], samples[:1]))
        assert out[0].get(f'macs_{role}') == measure_macs(getattr(model, role), x, s)
    for ds in out:
        assert ds.macs == ds.macs_saver + (0 if ds.exited else ds.macs_base)
    assert out[0].macs_base > 3 * out[0].macs_saver


def test_branch_pipeline_resizes_and_boxes_come_back_in_original_coordinates():
    import mmcv
    model = cascade(saver=dict(rtmdet(0.125), pipeline=[
        dict(type='Resize', scale=(48, 48), keep_ratio=True)]))
    imgs, samples = batch(2)
    out_imgs, out_samples = model.branches['saver'].prepare(imgs, samples)
    assert out_imgs[0].shape[-2:] == (48, 48)
    assert out_samples[0].scale_factor == (0.5, 0.5)
    # reference: resize by hand, predict, boxes scaled by 2
    small = [torch.from_numpy(mmcv.imresize(i.permute(1, 2, 0).numpy(), (48, 48))).permute(2, 0, 1)
             for i in imgs]
    ref_samples = [DetDataSample(metainfo=dict(ori_shape=(96, 96), img_shape=(48, 48),
                                               scale_factor=(0.5, 0.5))) for _ in imgs]
    data = model.saver.data_preprocessor({'inputs': small, 'data_samples': ref_samples}, False)
    ref = model.saver.predict(data['inputs'], data['data_samples'], rescale=True)
    got = model.branches['saver'].predict(imgs, samples)[0]
    for r, g in zip(ref, got):
        assert same(r.pred_instances, g)
    assert max(float(g.bboxes.max()) for g in got if len(g)) > 48  # original 96-px frame


def test_branch_pipeline_refuses_loading_steps():
    with pytest.raises(ValueError, match='LoadImageFromFile'):
        cascade(saver=dict(rtmdet(0.125), pipeline=[dict(type='LoadImageFromFile')]))


def test_evaluator_exit_with_features_and_report_mode():
    head = dict(type='TinySaverEvaluatorHead', num_classes=3, topk=5, feat_channels=32 * 3)
    model = cascade(exit_rule='evaluator', evaluator=head, report=True)
    model.evaluator.set_trained_for(state_dict_fingerprint(model.saver))
    model.evaluator.mlp[-1].bias.data.fill_(0.0)
    imgs, samples = batch(5)
    out = model.predict(imgs, samples)
    base_ref = alone(model, 'base', imgs, samples)
    for ds, b in zip(out, base_ref):
        assert 0.0 <= ds.exit_score <= 1.0
        assert same(ds.base_instances, b)  # report mode: the base's result on every image
        assert set(ds.policy_scores) == {'evaluator', 'max_score', 'mean_topk'}
        assert ds.policy_scores['evaluator'] == pytest.approx(ds.exit_score)
        assert ds.macs == ds.macs_saver + ds.macs_evaluator + (0 if ds.exited else ds.macs_base)
    assert out[0].cascade_overheads == ('evaluator', )


def test_saver_without_any_detection():
    saver = rtmdet(0.125)
    saver['test_cfg']['score_thr'] = 1.01  # keeps nothing
    head = dict(type='TinySaverEvaluatorHead', num_classes=3, topk=5)
    for rule, kw in (('max_score', {}), ('evaluator', dict(evaluator=head))):
        model = cascade(exit_rule=rule, saver=saver, threshold=0.5, **kw)
        imgs, samples = batch(3)
        out = model.predict(imgs, samples)
        assert all(len(ds.pred_instances) <= 20 for ds in out)
        if rule == 'max_score':
            assert not any(ds.exited for ds in out)  # no detection: confidence 0


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match='same classes'):
        cascade(base=rtmdet(0.25, num_classes=5, channels=48))
    with pytest.raises(ValueError, match='outside'):
        cascade(threshold=1.5)
    with pytest.raises(ValueError, match='exit_rule'):
        cascade(exit_rule='max_prob')
    with pytest.raises(ValueError, match="needs evaluator"):
        cascade(exit_rule='evaluator')
    with pytest.raises(ValueError, match='for 4 classes'):
        cascade(evaluator=dict(type='TinySaverEvaluatorHead', num_classes=4))
    with pytest.raises(FileNotFoundError):
        cascade(saver=dict(rtmdet(0.125), checkpoint=str(tmp_path / 'missing.pth')))
    with pytest.raises(ValueError, match='rescale=True'):
        cascade().predict(*batch(1), rescale=False)
    with pytest.raises(NotImplementedError, match='train'):
        cascade().loss(*batch(1))


def test_class_names_from_checkpoints_must_agree(tmp_path):
    model = cascade()
    for role, classes in (('saver', ['a', 'b', 'c']), ('base', ['a', 'c', 'b'])):
        torch.save(dict(state_dict=getattr(model, role).state_dict(),
                        meta=dict(dataset_meta=dict(classes=classes))), tmp_path / f'{role}.pth')
    with pytest.raises(ValueError, match='different class sets'):
        cascade(saver=dict(rtmdet(0.125), checkpoint=str(tmp_path / 'saver.pth')),
                base=dict(rtmdet(0.25, channels=48), checkpoint=str(tmp_path / 'base.pth')))


def test_evaluator_checkpoint_for_another_saver_is_refused(tmp_path):
    head_cfg = dict(type='TinySaverEvaluatorHead', num_classes=3, topk=5)
    model = cascade()
    head = MODELS.build(head_cfg)
    head.set_trained_for(state_dict_fingerprint(model.saver))
    torch.save(dict(state_dict=head.state_dict()), tmp_path / 'ev.pth')
    torch.save(dict(state_dict=model.saver.state_dict()), tmp_path / 'saver.pth')
    ok = cascade(saver=dict(rtmdet(0.125), checkpoint=str(tmp_path / 'saver.pth')),
                 evaluator=dict(head_cfg, checkpoint=str(tmp_path / 'ev.pth')), exit_rule=None)
    assert ok.exit_rule == 'evaluator'
    torch.manual_seed(1)  # another saver: other random weights
    with pytest.raises(ValueError, match='trained for another saver'):
        MODELS.build(dict(type='TinySaverDetector', saver=rtmdet(0.125),
                          base=rtmdet(0.25, channels=48),
                          evaluator=dict(head_cfg, checkpoint=str(tmp_path / 'ev.pth'))))
    # weights replaced after build (e.g. tools/test.py CKPT) are checked again
    with torch.no_grad():
        ok.saver.backbone.stem[0].conv.weight.add_(1.0)
    ok.load_state_dict(ok.state_dict())
    with pytest.raises(ValueError, match='trained for another saver'):
        ok.predict(*batch(1))


def test_three_detectors_route_on_each_stages_score():
    """saver -> mid0 -> base: each image is answered by the first detector sure
    enough, with that detector's own detections (run alone)."""
    from tinysaver_mm.core import det_confidence
    torch.manual_seed(2)
    model = MODELS.build(dict(type='TinySaverDetector', saver=rtmdet(0.125),
                              mids=[rtmdet(0.125, channels=40)], base=rtmdet(0.25, channels=48),
                              threshold=[0.5, 0.5], exit_rule='max_score'))
    imgs, samples = batch(8)
    ref = {r: alone(model, r, imgs, samples) for r in model.stage_names}
    conf = {r: det_confidence([p.scores for p in ref[r]]) for r in ('saver', 'mid0')}
    t0 = float(conf['saver'].median())
    first = conf['saver'] >= t0
    model.threshold = [t0, float(conf['mid0'][~first].median())]
    second = ~first & (conf['mid0'] >= model.threshold[1])
    out = model.predict(imgs, copy.deepcopy(samples))
    who = ['saver' if f else 'mid0' if s else 'base' for f, s in zip(first, second)]
    assert [ds.answered_by for ds in out] == who and len(set(who)) == 3
    for ds, w, i in zip(out, who, range(len(out))):
        assert same(ds.pred_instances, ref[w][i])
        upto = model.stage_names[:model.stage_names.index(w) + 1]
        assert ds.macs == sum(ds.get(f'macs_{r}') for r in upto)


def test_threshold_none_takes_the_evaluators_calibrated_threshold(tmp_path):
    head_cfg = dict(type='TinySaverEvaluatorHead', num_classes=3, topk=5)
    model = cascade()
    head = MODELS.build(head_cfg)
    head.set_trained_for(state_dict_fingerprint(model.saver))
    torch.save(dict(state_dict=head.state_dict(), meta=dict(threshold=0.375)), tmp_path / 'ev.pth')
    torch.save(dict(state_dict=head.state_dict()), tmp_path / 'bare.pth')
    torch.manual_seed(0)  # the same saver weights as `model`
    built = cascade(threshold=None, exit_rule=None,
                    evaluator=dict(head_cfg, checkpoint=str(tmp_path / 'ev.pth')))
    assert built.threshold == 0.375 and built.exit_rule == 'evaluator'
    with pytest.raises(ValueError, match='threshold=None'):
        torch.manual_seed(0)
        cascade(threshold=None, evaluator=dict(head_cfg, checkpoint=str(tmp_path / 'bare.pth')))
    with pytest.raises(ValueError, match='threshold=None'):
        cascade(threshold=None)


@pytest.mark.parametrize('rule', ['max_score', 'evaluator'])
def test_an_empty_saver_result_never_exits_unless_configured(rule):
    saver = rtmdet(0.125)
    saver['test_cfg']['score_thr'] = 1.01  # keeps nothing
    head = dict(type='TinySaverEvaluatorHead', num_classes=3, topk=5)
    kw = dict(evaluator=head) if rule == 'evaluator' else {}
    imgs, samples = batch(3)
    out = cascade(exit_rule=rule, saver=saver, threshold=0.0, **kw).predict(imgs, samples)
    assert not any(ds.exited for ds in out)
    assert all(ds.exit_score != ds.exit_score for ds in out)  # NaN: no exit score
    imgs, samples = batch(3)
    out = cascade(exit_rule=rule, saver=saver, threshold=0.0, empty_exits=True,
                  **kw).predict(imgs, samples)
    assert all(ds.exited and len(ds.pred_instances) == 0 for ds in out)
