"""TinySaverClassifier routing, outputs and MACs against independent references."""
import pytest
import torch

from tinysaver_mm.testing import stage_cfg, tiny_macs


def build(threshold=0.5, **kw):
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    cfg = dict(type='TinySaverClassifier',
               saver=stage_cfg(channels=2, mean=0.0, std=255.0),
               base=stage_cfg(channels=8, mean=128.0, std=64.0),
               threshold=threshold)
    cfg.update(kw)
    return MODELS.build(cfg)


def raw_batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)


def reference(model, raw):
    """Each stage alone on the whole batch, through its own preprocessor."""
    out = {}
    for role in ('saver', 'base'):
        m = getattr(model, role)
        x = m.data_preprocessor({'inputs': raw}, False)['inputs']
        out[role] = torch.stack([ds.pred_score for ds in m.predict(x)])
    return out


def median_threshold(model, raw):
    conf = reference(model, raw)['saver'].max(1).values
    return float(conf.median())


def test_predictions_are_savers_on_exits_and_bases_elsewhere():
    model = build()
    raw = raw_batch()
    model.threshold = median_threshold(model, raw)
    ref = reference(model, raw)
    exits = ref['saver'].max(1).values >= model.threshold
    assert 0 < exits.sum() < len(raw)
    out = model.predict(raw)
    scores = torch.stack([ds.pred_score for ds in out])
    expected = torch.where(exits[:, None], ref['saver'], ref['base'])
    assert torch.allclose(scores, expected, atol=1e-6)
    assert [ds.exited for ds in out] == exits.tolist()
    assert [ds.answered_by for ds in out] == ['saver' if e else 'base' for e in exits]
    assert torch.equal(torch.cat([ds.pred_label for ds in out]), expected.argmax(1))


def test_base_sees_exactly_the_non_exited_images_preprocessed_its_own_way():
    model = build()
    raw = raw_batch()
    model.threshold = median_threshold(model, raw)
    exits = reference(model, raw)['saver'].max(1).values >= model.threshold
    model.measure_stage_macs(raw)  # the one-image MACs probe, as the hook does
    seen = []
    handle = model.base.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    model.predict(raw)
    handle.remove()
    assert len(seen) == 1
    expected = (raw[~exits].float() - 128.0) / 64.0
    assert torch.allclose(seen[0], expected)


def test_threshold_zero_is_saver_only_and_base_never_runs():
    model = build(threshold=0.0)
    raw = raw_batch()
    calls = []
    model.base.register_forward_pre_hook(lambda m, a: calls.append(1))
    model.measure_stage_macs(raw)  # MACs measured up front, as the hook does
    calls.clear()
    out = model.predict(raw)
    assert calls == []
    ref = reference(model, raw)
    assert all(ds.exited for ds in out)
    assert torch.allclose(torch.stack([ds.pred_score for ds in out]), ref['saver'], atol=1e-6)


def test_first_batch_all_exiting_still_reports_every_stages_macs():
    # no hook measured anything first: the base has never run when every image exits
    model = build(threshold=0.0)
    out = model.predict(raw_batch(4))
    base = tiny_macs(8, 8, 10)
    assert all(ds.exited and ds.macs_base == base for ds in out)
    assert [ds.macs for ds in out] == [tiny_macs(2, 8, 10)] * 4


def test_threshold_above_every_confidence_is_base_only():
    model = build(threshold=1.0)
    raw = raw_batch()
    ref = reference(model, raw)
    assert ref['saver'].max() < 1.0
    out = model.predict(raw)
    assert not any(ds.exited for ds in out)
    labels = torch.cat([ds.pred_label for ds in out])
    assert torch.equal(labels, ref['base'].argmax(1))


def test_macs_add_up_to_hand_count():
    model = build()
    raw = raw_batch()
    model.threshold = median_threshold(model, raw)
    out = model.predict(raw)
    saver, base = tiny_macs(2, 8, 10), tiny_macs(8, 8, 10)
    assert model.stage_macs('saver') == saver
    assert model.stage_macs('base') == base
    for ds in out:
        assert ds.macs == saver + (0 if ds.exited else base)
        assert (ds.macs_saver, ds.macs_base) == (saver, base)


def test_metric_reports_exit_ratio_and_macs_saved():
    from mmengine.registry import METRICS
    model = build()
    raw = raw_batch()
    model.threshold = median_threshold(model, raw)
    out = model.predict(raw)
    metric = METRICS.build(dict(type='TinySaverMetric'))
    metric.process({}, [ds.to_dict() for ds in out])
    res = metric.evaluate(len(out))
    exit_ratio = sum(ds.exited for ds in out) / len(out)
    saver, base = tiny_macs(2, 8, 10), tiny_macs(8, 8, 10)
    cascade = saver + (1 - exit_ratio) * base
    assert res['tinysaver/exit_ratio'] == pytest.approx(exit_ratio)
    assert res['tinysaver/gmacs_cascade'] == pytest.approx(cascade / 1e9)
    assert res['tinysaver/gmacs_cascade_analytic'] == pytest.approx(cascade / 1e9)
    assert res['tinysaver/macs_saved_pct'] == pytest.approx(100 * (1 - cascade / base))


def test_metric_refuses_empty_and_non_cascade_predictions():
    from mmengine.registry import METRICS
    from mmpretrain.structures import DataSample
    metric = METRICS.build(dict(type='TinySaverMetric'))
    with pytest.raises(ValueError, match='empty'):
        metric.evaluate(0)
    with pytest.raises(KeyError, match='TinySaver cascade'):
        metric.process({}, [DataSample().to_dict()])


@pytest.mark.parametrize('rule', ['margin', 'entropy'])
def test_other_exit_rules_route_on_their_confidence(rule):
    from tinysaver_mm.core import confidence_scores
    model = build(exit_rule=rule)
    raw = raw_batch()
    ref = reference(model, raw)
    conf = confidence_scores(ref['saver'], rule)
    model.threshold = float(conf.median())
    out = model.predict(raw)
    assert [ds.exited for ds in out] == (conf >= model.threshold).tolist()


def test_tensor_mode_returns_routed_probabilities():
    model = build()
    raw = raw_batch()
    probs = model(raw, mode='tensor')
    assert probs.shape == (64, 10)
    assert torch.allclose(probs.sum(1), torch.ones(64))


def test_loss_mode_says_how_to_train():
    with pytest.raises(NotImplementedError, match='tools/train.py'):
        build()(raw_batch(), mode='loss')


def test_three_stages_route_on_each_stages_confidence():
    """saver -> mid0 -> base: each image is answered by the first stage that is
    sure enough, and its scores are that stage's own (run alone)."""
    from mmpretrain.registry import MODELS
    torch.manual_seed(1)
    model = MODELS.build(dict(
        type='TinySaverClassifier', saver=stage_cfg(channels=2, std=255.0),
        mids=[stage_cfg(channels=4, mean=10.0, std=100.0)],
        base=stage_cfg(channels=8, mean=128.0, std=64.0), threshold=[0.5, 0.5]))
    raw = raw_batch()
    ref = {}
    for role in model.stage_names:
        m = getattr(model, role)
        x = m.data_preprocessor({'inputs': raw}, False)['inputs']
        ref[role] = torch.stack([ds.pred_score for ds in m.predict(x)])
    t0 = float(ref['saver'].max(1).values.median())
    t1 = float(ref['mid0'].max(1).values.median())
    model.threshold = [t0, t1]
    first = ref['saver'].max(1).values >= t0
    second = ~first & (ref['mid0'].max(1).values >= t1)
    expected = torch.where(first[:, None], ref['saver'],
                           torch.where(second[:, None], ref['mid0'], ref['base']))
    out = model.predict(raw)
    assert torch.allclose(torch.stack([ds.pred_score for ds in out]), expected, atol=1e-6)
    who = ['saver' if f else 'mid0' if s else 'base' for f, s in zip(first, second)]
    assert [ds.answered_by for ds in out] == who
    assert len(set(who)) == 3
    macs = [model.stage_macs(r) for r in model.stage_names]
    for ds, w in zip(out, who):
        assert ds.macs == sum(macs[:model.stage_names.index(w) + 1])
    with pytest.raises(ValueError, match='needs 2 threshold'):
        model.threshold = 0.5


def test_packed_samples_equal_mmpretrains_own_setters():
    """The cascade's one-step packing gives the fields DataSample's setters give,
    on new samples and on samples from the loader (gt_label, metainfo)."""
    from mmpretrain.structures import DataSample
    model = build()
    raw = raw_batch(6)
    model.threshold = median_threshold(model, raw)
    given = [DataSample(metainfo=dict(img_path=f'{i}.png')).set_gt_label(i) for i in range(6)]
    fresh, loaded = model.predict(raw), model.predict(raw, given)
    cascade = {'exited', 'answered_by', 'exit_score', 'macs', 'cascade_stages', 'cascade_overheads',
               'macs_saver', 'macs_base'}
    for i, (a, b) in enumerate(zip(fresh, loaded)):
        ref = DataSample().set_pred_score(a.pred_score).set_pred_label(a.pred_label)
        assert set(a.keys()) == set(ref.keys())
        assert set(a.metainfo_keys()) == set(ref.metainfo_keys()) | cascade
        assert set(b.keys()) == set(ref.keys()) | {'gt_label'}
        assert set(b.metainfo_keys()) == set(ref.metainfo_keys()) | cascade | {'img_path'}
        assert a.num_classes == b.num_classes == ref.num_classes == 10
        assert torch.equal(a.pred_label, ref.pred_label) and a.pred_label.shape == (1, )
        assert torch.equal(a.pred_score, b.pred_score)
        assert b.img_path == f'{i}.png' and int(b.gt_label) == i


def test_packing_refuses_a_sample_of_another_class_count():
    from mmpretrain.structures import DataSample
    model = build()
    given = [DataSample().set_gt_score(torch.ones(5) / 5) for _ in range(2)]
    with pytest.raises(ValueError, match='num_classes=5'):
        model.predict(raw_batch(2), given)


def test_packing_refuses_a_cascade_field_the_sample_holds_as_data():
    from mmpretrain.structures import DataSample
    model = build()
    given = [DataSample() for _ in range(2)]
    given[1].set_field(True, 'exited')  # a data field named like a cascade metainfo field
    with pytest.raises(AttributeError, match=r"\['exited'\]"):
        model.predict(raw_batch(2), given)
