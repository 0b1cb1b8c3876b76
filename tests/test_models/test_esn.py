"""TinySaverESN (issue 13) against independent references.

Tiny random-weight ResNet_CIFAR stages (tinysaver_mm.testing.esn_stages) on
1x16x16 images. References: each stage alone through its own preprocessor
and mmpretrain's predict, the base backbone's own forward (stage outputs
caught with forward hooks), the exits module on that full unrouted forward,
TinySaverClassifier on the same weights, and mmengine's MACs count of each
part alone.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinysaver_mm.testing.esn_stages import esn_cfg, exit_modules_macs, resnet_cifar_cfg

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
OFF = 1.5  # a threshold above 1 turns an exit off
AFTER = (0, 2)


def build(threshold=(OFF, OFF, OFF), seed=0, **kw):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    import tinysaver_mm.models.classifiers  # noqa: F401
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(esn_cfg(threshold, **kw)).eval()


def raw_batch(n=32, seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)


def prep(model, role, raw):
    return getattr(model, role).data_preprocessor({'inputs': raw}, False)['inputs']


def reference(model, raw):
    """Every exit's probabilities on the full unrouted forward, computed
    independently of the ESN's staged run: the saver and the base through
    their own forward, the base stage outputs caught by hooks, then the exits
    module on all tokens at once. Returns (N, K + 2, C) probabilities."""
    saver, base = model.saver, model.base
    pooled = {}
    hooks = [saver.neck.register_forward_hook(lambda m, a, o: pooled.__setitem__('saver', o[-1]))]
    for i in model.after:
        hooks.append(getattr(base.backbone, f'layer{i + 1}').register_forward_hook(
            lambda m, a, o, i=i: pooled.__setitem__(i, o.mean((2, 3)))))
    with torch.no_grad():
        saver_logits = saver(prep(model, 'saver', raw), mode='tensor')
        base_logits = base(prep(model, 'base', raw), mode='tensor')
        feats = ([pooled['saver']] if model.exits.use_saver_token else []) + \
            [pooled[i] for i in model.after]
        exit_logits = model.exits(feats, saver_logits)
    for h in hooks:
        h.remove()
    return torch.cat([saver_logits[:, None], exit_logits, base_logits[:, None]], 1).softmax(-1)


def staged_thresholds(probs):
    """Thresholds (medians of the rows still in flight) sending rows to every
    exit, and the exit each row takes under them."""
    conf = probs.max(-1).values
    n, steps = conf.shape
    alive = torch.ones(n, dtype=torch.bool)
    exited_at = torch.full((n, ), steps - 1)
    thresholds = []
    for j in range(steps - 1):
        # midway between the two middle confidences: no row sits on the threshold,
        # where float noise of the routed sub-batch could flip it
        c = conf[alive, j].sort().values
        mid = (len(c) - 1) // 2
        t = float((c[mid] + c[mid + 1]) / 2) if len(c) > 1 else float(c[0])
        thresholds.append(t)
        leave = alive & (conf[:, j] >= t)
        exited_at[leave] = j
        alive &= ~leave
    return thresholds, exited_at


def routed_through_every_exit(model, raw, probs, atol):
    """Route ``raw`` at thresholds sending rows to every exit (see
    :func:`staged_thresholds`); each image must leave where the unrouted
    probabilities ``probs`` (N, steps, C) say, with that exit's answer.
    Returns the predictions."""
    model.threshold, exited_at = staged_thresholds(probs)
    out = model.predict(raw)
    assert [ds.exited_at for ds in out] == exited_at.tolist()
    assert sorted(set(exited_at.tolist())) == list(range(probs.shape[1]))
    assert all(torch.allclose(ds.pred_score, probs[i, ds.exited_at], atol=atol)
               for i, ds in enumerate(out))
    return out


# --------------------------------------------------------------- references
def test_every_exit_off_equals_the_base_alone():
    model = build()
    raw = raw_batch()
    out = model.predict(raw)
    ref = [ds.pred_score for ds in model.base.predict(prep(model, 'base', raw))]
    assert all(ds.answered_by == 'base' and ds.exited_at == 3 and not ds.exited for ds in out)
    for ds, r in zip(out, ref):
        assert torch.allclose(ds.pred_score, r, atol=1e-6)


def test_inner_exits_off_is_tinysaver_classifier_at_the_same_threshold():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model = build()
    raw = raw_batch()
    t = float(reference(model, raw)[:, 0].max(-1).values.median())
    model.threshold = [t, OFF, OFF]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        cfg = esn_cfg([t, OFF, OFF])  # the same saver and base configs
        plain = MODELS.build(dict(type='TinySaverClassifier', saver=cfg['saver'],
                                  base=cfg['base'], threshold=t)).eval()
    plain.saver.load_state_dict(model.saver.state_dict())
    plain.base.load_state_dict(model.base.state_dict())
    ours, theirs = model.predict(raw), plain.predict(raw)
    assert 0 < sum(ds.exited for ds in ours) < len(raw)
    for a, b in zip(ours, theirs):
        assert a.exited == b.exited and a.answered_by == b.answered_by
        assert a.exit_score == pytest.approx(b.exit_score, abs=1e-6)
        assert torch.allclose(a.pred_score, b.pred_score, atol=1e-6)
        assert a.macs_saver == b.macs_saver and a.macs_base_alone == b.macs_base


@pytest.mark.parametrize('saver_token', [True, False])
def test_each_exited_image_equals_its_exit_on_the_full_unrouted_forward(saver_token):
    model = build(saver_token=saver_token)
    raw = raw_batch()
    ref = reference(model, raw)
    model.threshold, exited_at = staged_thresholds(ref)
    out = model.predict(raw)
    assert sorted(set(exited_at.tolist())) == [0, 1, 2, 3]  # every exit answers some
    for i, ds in enumerate(out):
        assert ds.exited_at == int(exited_at[i])
        assert ds.answered_by == model.route_names[ds.exited_at]
        assert torch.allclose(ds.pred_score, ref[i, ds.exited_at], atol=1e-5)


def test_without_the_saver_token_the_saver_logits_are_not_added():
    model = build(saver_token=False)
    raw = raw_batch(4)
    feats = [torch.randn(4, c) for c in model.exits.in_channels]
    with torch.no_grad():
        a = model.exits(feats, torch.zeros(4, 10))
        b = model.exits(feats, torch.randn(4, 10) * 10)
    assert len(model.exits.in_channels) == len(AFTER) and torch.equal(a, b)
    assert model.predict(raw)[0].cascade_stages == ('saver', 'exit1', 'exit2', 'base')


def test_each_base_stage_sees_exactly_the_rows_still_in_flight():
    model = build()
    raw = raw_batch()
    model.threshold, exited_at = staged_thresholds(reference(model, raw))
    model.measure_stage_macs(raw)  # MACs probes first, as the hook does
    seen = {}
    mods = dict(saver=model.saver.backbone, conv1=model.base.backbone.conv1,
                **{f'layer{i}': getattr(model.base.backbone, f'layer{i}') for i in range(1, 5)},
                head=model.base.head)
    hooks = [m.register_forward_pre_hook(lambda m, a, k=k: seen.setdefault(k, []).append(
        len(a[0][-1] if isinstance(a[0], tuple) else a[0]))) for k, m in mods.items()]
    model.predict(raw)
    for h in hooks:
        h.remove()
    past = [int((exited_at >= j).sum()) for j in range(4)]  # rows reaching step j
    assert seen == dict(saver=[32], conv1=[past[1]], layer1=[past[1]], layer2=[past[2]],
                        layer3=[past[2]], layer4=[past[3]], head=[past[3]])
    assert past[1] < 32 and past[3] < past[2] < past[1]


def test_the_causal_mask_is_real():
    model = build()
    exits = model.exits
    feats = [torch.randn(5, c) for c in exits.in_channels]
    saver_logits = torch.randn(5, 10)
    with torch.no_grad():
        before = exits(feats, saver_logits)
        later = exits(feats[:-1] + [feats[-1] + 3 * torch.randn_like(feats[-1])], saver_logits)
        earlier = exits([feats[0] + 3 * torch.randn_like(feats[0])] + feats[1:], saver_logits)
    assert torch.equal(before[:, 0], later[:, 0])  # exit 1 does not see the last token
    assert not torch.allclose(before[:, 1], later[:, 1])
    assert not torch.allclose(before[:, 1], earlier[:, 1])  # a later exit sees earlier tokens
    assert not torch.allclose(before[:, 0], earlier[:, 0])


def test_macs_add_up_to_each_part_counted_alone():
    from mmengine.analysis import FlopAnalyzer
    model = build()
    raw = raw_batch()
    model.threshold, _ = staged_thresholds(reference(model, raw))
    out = model.predict(raw)

    def count(module, *args):
        return int(FlopAnalyzer(module, args).total())

    bb, exits = model.base.backbone, model.exits
    x_s, x_b = prep(model, 'saver', raw[:1]), prep(model, 'base', raw[:1])
    saver, base = count(model.saver, x_s), count(model.base, x_b)
    stem = [bb.conv1, bb.norm1, bb.relu]
    prefix = {i: count(nn.Sequential(*stem, *[getattr(bb, f'layer{k + 1}') for k in range(i + 1)]),
                       x_b) for i in AFTER}

    exit_cost = exit_modules_macs(exits)
    want = {0: saver, 1: saver + prefix[0] + exit_cost[1],
            2: saver + prefix[2] + exit_cost[1] + exit_cost[2],
            3: saver + base + exit_cost[1] + exit_cost[2]}
    assert saver > 0 and base > prefix[2] > prefix[0] > 0 and min(exit_cost.values()) > 0
    for ds in out:
        assert ds.macs == want[ds.exited_at]
        assert ds.macs_base_alone == base and ds.macs_saver == saver


def test_accuracy_and_tinysaver_metric_read_the_predictions():
    from mmpretrain.evaluation import Accuracy
    from mmpretrain.structures import DataSample
    from tinysaver_mm.evaluation.metrics import TinySaverMetric
    model = build()
    raw = raw_batch()
    model.threshold, exited_at = staged_thresholds(reference(model, raw))
    samples = [DataSample().set_gt_label(i % 10) for i in range(len(raw))]
    out = [ds.to_dict() for ds in model.predict(raw, samples)]
    acc, metric = Accuracy(topk=(1, )), TinySaverMetric()
    acc.process(None, out)
    metric.process(None, out)
    top1 = acc.compute_metrics(acc.results)['top1']
    res = metric.compute_metrics(metric.results)
    assert top1 == pytest.approx(100.0 * sum(int(d['pred_label']) == i % 10
                                             for i, d in enumerate(out)) / len(out))
    for j, name in enumerate(('saver', 'exit1', 'exit2', 'base')):
        assert res[f'share_{name}'] == pytest.approx(float((exited_at == j).float().mean()))
    mean = sum(d['macs'] for d in out) / len(out)
    assert res['gmacs_cascade'] == pytest.approx(mean / 1e9)
    assert res['gmacs_cascade_analytic'] == pytest.approx(mean / 1e9)
    assert res['macs_saved_pct'] == pytest.approx(100 * (1 - mean / out[0]['macs_base_alone']))


# ----------------------------------------------------------------- training
@pytest.mark.parametrize('saver_token', [True, False])
def test_only_the_exits_train_and_the_loss_is_the_official_one(saver_token):
    from mmpretrain.structures import DataSample
    model = build(saver_token=saver_token)
    raw = raw_batch(16)
    labels = torch.arange(16) % 10
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    ref = reference(model, raw)
    model.train()
    assert model.exits.training and not model.saver.training and not model.base.training
    frozen = {r: copy.deepcopy(getattr(model, r).state_dict()) for r in ('saver', 'base')}
    exits_before = copy.deepcopy(model.exits.state_dict())
    loss = model(raw, samples, mode='loss')['loss']
    # the reference loss from the unrouted forward's exit probabilities
    weight = 2 * (1 - ref[:, 0].max(-1).values) if saver_token else torch.ones(16)
    want = sum((F.nll_loss(ref[:, j].log(), labels, reduction='none') * weight).mean()
               for j in range(1, 1 + len(AFTER)))
    assert float(loss.detach()) == pytest.approx(float(want), rel=1e-4)
    loss.backward()
    assert all(p.grad is None and not p.requires_grad
               for r in ('saver', 'base') for p in getattr(model, r).parameters())
    assert all(p.grad is not None for p in model.exits.parameters())
    torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1).step()
    for r in ('saver', 'base'):
        now = getattr(model, r).state_dict()
        assert all(torch.equal(now[k], v) for k, v in frozen[r].items())  # BN stats too
    assert any(not torch.equal(model.exits.state_dict()[k], v) for k, v in exits_before.items()
               if v.dtype.is_floating_point)


def test_init_weights_keeps_the_loaded_stages():
    model = build()
    before = {r: copy.deepcopy(getattr(model, r).state_dict()) for r in ('saver', 'base')}
    model.init_weights()  # what a Runner does before training
    for r, sd in before.items():
        assert all(torch.equal(getattr(model, r).state_dict()[k], v) for k, v in sd.items())


def test_an_exits_checkpoint_loads_strictly_and_is_bound_to_its_saver_and_base(tmp_path):
    from tinysaver_mm.utils import state_dict_fingerprint
    model = build()
    model.exits.set_trained_for(state_dict_fingerprint(model.saver),
                                state_dict_fingerprint(model.base))
    path = str(tmp_path / 'exits.pth')
    torch.save(dict(state_dict=model.exits.state_dict()), path)
    loaded = build(seed=0, checkpoint=path)
    assert all(torch.equal(loaded.exits.state_dict()[k], v)
               for k, v in model.exits.state_dict().items())
    raw = raw_batch(4)
    assert len(loaded.predict(raw)) == 4
    with pytest.raises(ValueError, match='exits was trained for another saver'):
        build(seed=1, checkpoint=path)  # other random stage weights
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build(checkpoint=str(tmp_path / 'missing.pth'))


# ---------------------------------------------------------------- bad input
def test_a_base_backbone_without_an_adapter_is_refused():
    from tinysaver_mm.testing import stage_cfg
    with pytest.raises(ValueError, match=r'TinyTestNet has no stage adapter.*Supported types: '
                                         r'ResNet, ResNet_CIFAR'):
        build(base=stage_cfg(channels=4, size=16))


@pytest.mark.parametrize('after, match', [
    ([0, 4], r'exits.after=\[0, 4\]: stage index\(es\) \[4\] out of range .* 4 stages \(0..3\)'),
    ([-1], r'\[-1\] out of range'),
    ([2, 1], r'not strictly increasing'),
    ([], r'non-empty list'),
    ('0', r"exits.after='0' must be a non-empty list"),
])
def test_bad_after_is_refused(after, match):
    with pytest.raises(ValueError, match=match):
        build(after=after, threshold=[0.5] * (1 + max(len(after), 1)))


@pytest.mark.parametrize('threshold', [[0.5, 0.5], [0.5] * 4, 0.5])
def test_thresholds_of_the_wrong_count_are_refused(threshold):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = esn_cfg([0.5])
    cfg['threshold'] = threshold
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError, match=r"this cascade \('saver', 'exit1', 'exit2', "
                                             r"'base'\) needs 3 threshold\(s\)"):
            MODELS.build(cfg)


def test_negative_thresholds_are_refused():
    with pytest.raises(ValueError, match=r'threshold=-0.1 is outside \[0, 1\]'):
        build(threshold=[0.5, -0.1, OFF])


@pytest.mark.parametrize('key, value', [('dim', 0), ('dim', 2.5), ('dim', True),
                                        ('num_attn_layers', 0), ('num_attn_layers', -1),
                                        ('num_attn_layers', '2'), ('num_heads', 0),
                                        ('mlp_ratio', 0)])
def test_sizes_that_are_not_positive_integers_are_refused(key, value):
    kw = dict(dim=8, num_attn_layers=2)
    kw[key] = value
    with pytest.raises(ValueError, match=rf'exits.{key}={value!r} must be a positive integer'):
        build(**kw)


def test_unknown_exit_keys_and_bad_switches_are_refused():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['dims'\]"):
        build(dims=8)
    with pytest.raises(ValueError, match=r"exits.saver_token='yes' must be True"):
        build(saver_token='yes')
    with pytest.raises(ValueError, match='num_heads=3 must divide exits.dim=8'):
        build(num_heads=3)


# ----------------------------------------------------------- stage adapters
@pytest.mark.parametrize('backbone', [
    dict(type='ResNet', depth=18, in_channels=1, base_channels=4, stem_channels=4),
    dict(type='ResNetV1d', depth=18, in_channels=1, base_channels=4, stem_channels=4),
    dict(type='ResNet_CIFAR', depth=18, in_channels=1, base_channels=4, stem_channels=4),
    dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
         in_channels=1),
    dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
         in_channels=1, gap_before_final_norm=False),
    dict(type='SwinTransformer', arch=dict(embed_dims=8, depths=[1, 1, 1, 1],
                                           num_heads=[1, 1, 1, 1]),
         img_size=32, window_size=2, in_channels=1, pad_small_map=True),
    dict(type='SwinTransformer', arch=dict(embed_dims=8, depths=[1, 1, 1, 1],
                                           num_heads=[1, 1, 1, 1]),
         img_size=32, window_size=2, in_channels=1, pad_small_map=True,
         out_after_downsample=True),
])
def test_stage_adapters_run_the_backbone_as_its_own_forward(backbone):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    from tinysaver_mm.models.backbones import stage_adapter
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        bb = MODELS.build(backbone)
    bb.eval()  # (ResNet.train returns None)
    adapter = stage_adapter(bb)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        want = bb(x)
        h = adapter.stem(x)
        for i in range(adapter.num_stages):
            h = adapter.stage(i, h)
            assert adapter.pooled(i, h).shape == (2, adapter.channels(i))
        got = adapter.outputs(h)
    assert len(got) == len(want) and all(torch.allclose(a, b, atol=1e-5)
                                         for a, b in zip(got, want))


@pytest.mark.parametrize('backbone, neck', [  # as mmpretrain's configs: ConvNeXt pools itself
    (dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
          in_channels=1), None),
    (dict(type='SwinTransformer', arch=dict(embed_dims=8, depths=[1, 1, 1, 1],
                                            num_heads=[1, 1, 1, 1]),
          img_size=32, window_size=2, in_channels=1, pad_small_map=True),
     dict(type='GlobalAveragePooling')),
])
def test_convnext_and_swin_bases_route_through_every_exit(backbone, neck):
    base = dict(resnet_cifar_cfg(4), backbone=backbone, neck=neck,
                head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    model = build(base=base, after=(0, 1, 2), threshold=[OFF] * 4)
    raw = raw_batch(32, size=32)
    alone = model.base.predict(prep(model, 'base', raw))
    assert all(torch.allclose(ds.pred_score, r.pred_score, atol=1e-5)
               for ds, r in zip(model.predict(raw), alone))
    features, saver_logits = model.unrouted(raw)  # the unrouted forward, every exit
    with torch.no_grad():
        exits = model.exits(features, saver_logits)
    probs = torch.cat([torch.cat([saver_logits[:, None], exits], 1).softmax(-1),
                       torch.stack([r.pred_score for r in alone])[:, None]], 1)
    routed_through_every_exit(model, raw, probs, atol=1e-5)


def test_an_adapter_refuses_a_backbone_returning_other_stages():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    from tinysaver_mm.models.backbones import stage_adapter
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        bb = MODELS.build(dict(type='ResNet_CIFAR', depth=18, in_channels=1,
                               out_indices=(2, 3)))
    with pytest.raises(ValueError, match=r'out_indices=\(2, 3\).*needs out_indices=\(3, \)'):
        stage_adapter(bb)


# -------------------------------------------------------- the demo config
def test_the_fashion_mnist_config_builds_and_routes_real_images_through_every_exit():
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS
    path = osp.join(ROOT, 'configs', 'fashion_mnist',
                    'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py')
    cfg = Config.fromfile(path)
    assert cfg.model.saver.checkpoint.endswith('resnet18-w4s2_fmnist.pth')
    assert cfg.model.base.checkpoint.endswith('resnet18-w16_fmnist.pth')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model).eval()
        data = dict(cfg.test_dataloader.dataset, data_root=osp.join(ROOT, 'data', 'fashion_mnist'),
                    indices=64)
        dataset = DATASETS.build(data)
    items = [dataset[i] for i in range(len(dataset))]
    raw = torch.stack([it['inputs'] for it in items])
    samples = [it['data_samples'] for it in items]
    assert raw.shape == (64, 1, 28, 28) and model.route_names == (
        'saver', 'exit1', 'exit2', 'exit3', 'base')
    # as shipped: trained exits, calibrated thresholds; each image leaves at the
    # first exit whose confidence on the unrouted forward reaches its threshold
    assert cfg.model.exits.checkpoint.endswith('esn-exits_resnet18-w4s2_resnet18-w16_fmnist.pth')
    shipped = model.predict(raw, copy.deepcopy(samples))
    conf = reference(model, raw).max(-1).values
    reached = conf[:, :4] >= torch.tensor(model.threshold)
    want = [int(r.nonzero()[0]) if r.any() else 4 for r in reached]
    assert [ds.exited_at for ds in shipped] == want
    model.threshold, exited_at = staged_thresholds(reference(model, raw))
    out = model.predict(raw, samples)
    assert [ds.exited_at for ds in out] == exited_at.tolist()
    assert sorted(set(exited_at.tolist())) == [0, 1, 2, 3, 4]
    base_hits = [ds for ds in out if ds.exited_at == 4]
    ref = model.base.predict(prep(model, 'base', raw))
    for i, ds in enumerate(out):
        if ds.exited_at == 4:
            assert torch.allclose(ds.pred_score, ref[i].pred_score, atol=1e-5)
    macs = sorted({ds.exited_at: ds.macs for ds in out}.items())
    assert [m for _, m in macs] == sorted(m for _, m in macs)  # later exits cost more
    assert base_hits[0].macs > base_hits[0].macs_base_alone


def test_the_test_loop_reports_accuracy_and_every_exits_share(tmp_path):
    """tools/test.py's path in-process (load_cfg + run_test: Runner, TinySaverMACsHook,
    Accuracy and TinySaverMetric) on 128 real test images, exits on."""
    from tinysaver_mm.apis import load_cfg, run_test
    path = osp.join(ROOT, 'configs', 'fashion_mnist',
                    'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py')
    cfg = load_cfg(path, {'test_dataloader.dataset.indices': 128,
                          'test_dataloader.num_workers': 0,
                          'test_dataloader.persistent_workers': False,
                          'test_dataloader.dataset.data_root': osp.join(ROOT, 'data',
                                                                        'fashion_mnist'),
                          'model.threshold': [0.9, 0.5, 0.5, 0.5]}, str(tmp_path))
    torch.manual_seed(0)
    res = run_test(cfg)
    shares = [res[f'tinysaver/share_{s}'] for s in ('saver', 'exit1', 'exit2', 'exit3', 'base')]
    assert sum(shares) == pytest.approx(1.0) and shares[0] < 1.0
    assert 0.0 <= res['accuracy/top1'] <= 100.0
    assert 0.0 < res['tinysaver/macs_saved_pct'] < 100.0


# ---------------------------------------------------------- ImageNet configs
@pytest.mark.parametrize('name', ['tinysaver-esn_mobilenet-v3-small_resnet50_in1k.py',
                                  'tinysaver-esn_mobilenet-v3-small_convnext-base_in1k.py'])
def test_the_imagenet_configs_route_a_batch_through_every_exit(name, tmp_path):
    """Random weights (no download here): the whole config is valid for a Runner
    (its training part too), and a routed batch leaves through every exit as the
    unrouted forward says."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'imagenet', name))
    assert all(cfg.model[r].checkpoint.startswith('https://') for r in ('saver', 'base'))
    assert cfg.model.exits.checkpoint is None and cfg.train_dataloader.dataset.split == 'train'
    for r in ('saver', 'base'):
        cfg.model[r].checkpoint = None
    cfg.work_dir = str(tmp_path)
    torch.manual_seed(0)
    model = Runner.from_cfg(cfg).model.eval()
    assert model.route_names == ('saver', 'exit1', 'exit2', 'exit3', 'base')
    raw = torch.randint(0, 256, (16, 3, 224, 224), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # a random saver head answers ~1/1000 everywhere: spread it
        for p in model.saver.head.parameters():
            p.normal_(0, 0.5)
    probs = model.route_probs(raw)
    probs = torch.stack([probs[s] for s in model.route_names], 1)
    out = routed_through_every_exit(model, raw, probs, atol=1e-4)
    costs = {ds.exited_at: ds.macs for ds in out}
    assert [costs[j] for j in range(5)] == sorted(costs.values())
    assert costs[4] > out[0].macs_base_alone > costs[0]
