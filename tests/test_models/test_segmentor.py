"""TinySaverSegmentor against independent references (each stage alone, numpy, IoUMetric).

The generic contract (routing = each stage alone, thresholds 0 / above every
score, MACs add up, fields, batch bookkeeping...) runs on the segmentor through
tests/test_models/test_cascade_contract.py (SegCase); this file covers what is specific to
segmentation: slide inference and test-time padding per stage, the pixel
confidence rules, mIoU through mmseg's IoUMetric, images of several sizes and
the bad inputs.
"""
import copy

import numpy as np
import pytest
import torch

from tinysaver_mm.core import seg_confidence

pytest.importorskip('mmseg')
from mmengine.registry import DefaultScope  # noqa: E402

from tinysaver_mm.testing.seg_stages import fcn_cfg, seg_batch  # noqa: E402


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _build(saver=None, base=None, **kwargs):
    from mmseg.registry import MODELS
    import tinysaver_mm.models.segmentors  # noqa: F401
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinySaverSegmentor', saver=saver or fcn_cfg(4),
                             base=base or fcn_cfg(16, mean=100.0, std=50.0), **kwargs))


def _alone(model, role, imgs, samples):
    """One stage alone: its own preprocessor and predict on copies of the samples."""
    m = getattr(model, role)
    data = m.data_preprocessor({'inputs': list(imgs), 'data_samples': copy.deepcopy(samples)},
                               False)
    return m.predict(data['inputs'], data['data_samples'])


def _scores(model, imgs, samples):
    return seg_confidence([p.seg_logits.data for p in _alone(model, 'saver', imgs, samples)],
                          model.exit_rule, model.quantile)


def _same(ds, ref):
    return torch.equal(ds.pred_sem_seg.data, ref.pred_sem_seg.data) and \
        torch.allclose(ds.seg_logits.data, ref.seg_logits.data, atol=1e-5)


# ---------------------------------------------------------------- confidence
def _numpy_scores(logits, rule, q):
    x = logits.double().numpy()
    p = np.exp(x - x.max(axis=0))
    p /= p.sum(axis=0)
    if rule == 'mean_entropy':
        ent = -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=0)
        return float(np.mean(1.0 - ent / np.log(x.shape[0])))
    top = p.max(axis=0).ravel()
    return float(np.quantile(top, q) if rule == 'quantile_max_prob' else top.mean())


@pytest.mark.parametrize('rule', ['mean_max_prob', 'quantile_max_prob', 'mean_entropy'])
@pytest.mark.parametrize('q', [0.0, 0.1, 0.37, 1.0])
def test_seg_confidence_equals_a_numpy_brute_force(rule, q):
    g = torch.Generator().manual_seed(3)
    logits = [torch.randn(c, h, w, generator=g) * s
              for c, h, w, s in ((5, 7, 9, 1.0), (5, 4, 3, 4.0), (2, 1, 1, 0.5), (19, 13, 17, 2))]
    got = seg_confidence(logits, rule, q)
    want = [_numpy_scores(x, rule, q) for x in logits]
    assert got.dtype == torch.float32 and got.shape == (4, )
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    assert ((got >= 0) & (got <= 1)).all()


def test_seg_confidence_valid_pixels_and_bad_input():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, generator=g)
    mask = torch.zeros(4, 5, dtype=torch.bool)
    mask[1:3, 2:] = True
    got = seg_confidence([x, x], 'quantile_max_prob', 0.25, valid=[mask, torch.zeros_like(mask)])
    sub = x[:, 1:3, 2:]
    assert float(got[0]) == pytest.approx(_numpy_scores(sub, 'quantile_max_prob', 0.25), abs=1e-6)
    assert torch.isnan(got[1])  # no valid pixel: no score, never exits
    assert seg_confidence([], 'mean_max_prob').shape == (0, )
    with pytest.raises(ValueError, match="'max_prob'"):
        seg_confidence([x], 'max_prob')
    with pytest.raises(ValueError, match='quantile=1.5 is outside'):
        seg_confidence([x], 'quantile_max_prob', 1.5)
    with pytest.raises(ValueError, match=r'C > 1 .*\(1, 4, 5\)'):
        seg_confidence([x[:1]], 'mean_max_prob')
    with pytest.raises(ValueError, match=r'valid mask of image 0 is \(2, 2\)'):
        seg_confidence([x], 'mean_max_prob', valid=[torch.ones(2, 2)])


# ------------------------------------------------------ routing, per stage cfg
@pytest.mark.parametrize('rule', ['quantile_max_prob', 'mean_entropy'])
def test_padded_whole_saver_and_slide_base_equal_each_alone(rule):
    """Saver: whole mode with test-time padding (mmseg writes img_padding_size into
    the samples); base: slide mode with align_corners. Each keeps its own."""
    model = _build(saver=fcn_cfg(4, size_divisor=32),
                   base=fcn_cfg(8, mode='slide', crop_size=(32, 32), stride=(24, 24),
                                align_corners=True),
                   exit_rule=rule, quantile=0.2)
    imgs, samples = seg_batch(6)
    scores = _scores(model, imgs, samples)
    model.threshold = float(scores.median())
    exits = scores >= model.threshold
    assert 0 < int(exits.sum()) < len(exits)
    ref = {r: _alone(model, r, imgs, samples) for r in ('saver', 'base')}
    given = copy.deepcopy(samples)
    out = model.predict(imgs, given)
    assert out is given  # the input samples, gt kept, predictions written in
    for i, ds in enumerate(out):
        role = 'saver' if exits[i] else 'base'
        assert ds.answered_by == role and _same(ds, ref[role][i])
        assert ds.exit_score == pytest.approx(float(scores[i]), abs=1e-6)
        assert ds.seg_logits.shape == (48, 64) and torch.equal(ds.gt_sem_seg.data,
                                                               samples[i].gt_sem_seg.data)
        assert 'img_padding_size' not in ds.metainfo  # the saver's padding stayed its own


def test_the_base_sees_exactly_the_images_that_did_not_exit():
    model = _build()
    imgs, samples = seg_batch(8)
    scores = _scores(model, imgs, samples)
    model.threshold = float(scores.median())
    passed = [i for i in range(8) if scores[i] < model.threshold]
    model.measure_stage_macs(imgs, samples)  # MACs are measured outside the routed run
    seen = []
    handle = model.base.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    model.predict(imgs, copy.deepcopy(samples))
    handle.remove()
    want = model.base.data_preprocessor({'inputs': [imgs[i] for i in passed]}, False)['inputs']
    assert len(seen) == 1 and torch.equal(seen[0], want)


def test_slide_base_runs_every_crop_on_the_passed_images_only():
    model = _build(base=fcn_cfg(8, mode='slide', crop_size=(32, 32), stride=(24, 24)))
    imgs, samples = seg_batch(5)
    scores = _scores(model, imgs, samples)
    model.threshold = float(scores.sort().values[1])  # 1 image goes on... at least
    n_passed = int((scores < model.threshold).sum())
    model.measure_stage_macs(imgs, samples)
    seen = []
    handle = model.base.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
    model.predict(imgs, copy.deepcopy(samples))
    handle.remove()
    # 48x64 with 32x32 crops at stride 24: 2 x 3 crops, each on the passed images only
    assert n_passed >= 1 and seen == [torch.Size([n_passed, 3, 32, 32])] * 6


def test_threshold_above_every_score_gives_the_bases_miou_through_iou_metric():
    from mmseg.evaluation import IoUMetric
    model = _build(threshold=1.0)
    imgs, samples = seg_batch(6)
    assert float(_scores(model, imgs, samples).max()) < 1.0

    def miou(preds):
        metric = IoUMetric(iou_metrics=['mIoU'])
        metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
        metric.process({}, [p.to_dict() for p in preds])
        return metric.compute_metrics(metric.results)

    alone = []
    for ds, ref in zip(copy.deepcopy(samples), _alone(model, 'base', imgs, samples)):
        ds.set_data(dict(pred_sem_seg=ref.pred_sem_seg))
        alone.append(ds)
    out = model.predict(imgs, copy.deepcopy(samples))
    assert not any(ds.exited for ds in out)
    assert miou(out) == miou(alone)
    model.threshold = 0.0
    saver = miou(model.predict(imgs, copy.deepcopy(samples)))
    assert saver != miou(alone)  # the check above could tell the stages apart


def test_images_of_several_sizes_run_per_size_and_equal_each_image_alone():
    model = _build()
    a, sa = seg_batch(3, size=(48, 64), seed=1)
    b, sb = seg_batch(3, size=(40, 56), seed=2)
    imgs, samples = [a[0], b[0], a[1], b[1], a[2], b[2]], [sa[0], sb[0], sa[1], sb[1], sa[2], sb[2]]
    scores = torch.cat([_scores(model, [imgs[i]], [samples[i]]) for i in range(6)])
    model.threshold = float(scores.median())
    model.image_macs(imgs, samples)  # measured per size, outside the routed run
    seen = []
    handle = model.base.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
    out = model.predict(imgs, copy.deepcopy(samples))
    handle.remove()
    for i, ds in enumerate(out):
        role = 'saver' if scores[i] >= model.threshold else 'base'
        assert ds.answered_by == role and ds.seg_logits.shape == tuple(imgs[i].shape[1:])
        assert _same(ds, _alone(model, role, [imgs[i]], [samples[i]])[0])
        assert ds.exit_score == pytest.approx(float(scores[i]), abs=1e-6)
        assert ds.macs_base == out[i % 2].macs_base  # MACs per size
    assert out[0].macs_base != out[1].macs_base
    per_size = {}
    for i in range(6):
        if scores[i] < model.threshold:
            per_size[tuple(imgs[i].shape[1:])] = per_size.get(tuple(imgs[i].shape[1:]), 0) + 1
    assert sorted(s[0] for s in seen) == sorted(per_size.values())  # one sub-batch per size
    with pytest.raises(ValueError, match=r'differ in size \(\[\(3, 40, 56\), \(3, 48, 64\)\]\)'):
        model.extract_feat(imgs[:2])


def test_three_stages_route_each_image_to_the_first_stage_sure_enough():
    model = _build(mids=[fcn_cfg(8, mean=110.0, std=55.0)], threshold=[0.0, 0.0])
    imgs, samples = seg_batch(8)
    s0 = _scores(model, imgs, samples)
    s1 = seg_confidence([p.seg_logits.data for p in _alone(model, 'mid0', imgs, samples)],
                        model.exit_rule)
    model.threshold = [float(s0.median()), float(s1.median())]
    want = ['saver' if a >= model.threshold[0] else 'mid0' if b >= model.threshold[1] else 'base'
            for a, b in zip(s0, s1)]
    assert len(set(want)) == 3
    ref = {r: _alone(model, r, imgs, samples) for r in model.stage_names}
    out = model.predict(imgs, copy.deepcopy(samples))
    for i, ds in enumerate(out):
        assert ds.answered_by == want[i] and _same(ds, ref[want[i]][i])
        assert ds.macs == sum(ds.get(f'macs_{r}')
                              for r in model.stage_names[:model.stage_names.index(want[i]) + 1])


def test_stages_without_a_preprocessor_take_the_cascades_or_are_refused():
    bare = fcn_cfg(4)
    bare.pop('data_preprocessor')
    given = fcn_cfg(16, mean=100.0, std=50.0)['data_preprocessor']
    model = _build(saver=bare, data_preprocessor=given)
    assert type(model.saver.data_preprocessor).__name__ == 'SegDataPreProcessor'
    assert float(model.saver.data_preprocessor.std[0]) == 50.0
    with pytest.raises(ValueError, match='The saver has no data_preprocessor'):
        _build(saver=bare)


# ------------------------------------------------------------------ MACs
def test_slide_macs_are_crops_times_the_per_crop_cost():
    from tinysaver_mm.utils import measure_macs
    model = _build(base=fcn_cfg(8, mode='slide', crop_size=(32, 32), stride=(24, 24)))
    imgs, samples = seg_batch(2)
    crops = []
    handle = model.base.backbone.register_forward_pre_hook(lambda m, a: crops.append(1))
    _alone(model, 'base', imgs[:1], samples[:1])  # mmseg's own slide inference
    handle.remove()
    per_crop = measure_macs(model.base, torch.zeros(1, 3, 32, 32))
    whole = measure_macs(model.saver, torch.zeros(1, 3, 48, 64))
    out = model.predict(imgs, copy.deepcopy(samples))
    assert len(crops) == 6
    for ds in out:
        assert ds.macs_base == len(crops) * per_crop and ds.macs_saver == whole
        assert ds.macs == whole + (0 if ds.exited else ds.macs_base)


def test_padded_saver_macs_are_counted_at_its_padded_input():
    from tinysaver_mm.utils import measure_macs
    model = _build(saver=fcn_cfg(4, size_divisor=32), threshold=0.0)
    imgs, samples = seg_batch(1)
    ds = model.predict(imgs, copy.deepcopy(samples))[0]
    assert ds.macs_saver == measure_macs(model.saver, torch.zeros(1, 3, 64, 64))  # 48 -> 64


# ------------------------------------------------------- what mmseg tools read
def test_mmseg_facing_attributes_modes_and_test_step():
    from mmengine.dataset import pseudo_collate
    model = _build(train_cfg=None, test_cfg=dict())
    assert model.num_classes == 4 and model.out_channels == 4
    assert model.decode_head is model.base.decode_head and model.align_corners is False
    assert not any(k.startswith('decode_head.') for k in model.state_dict())
    imgs, samples = seg_batch(2)
    x = torch.stack(imgs).float()
    want = model.base._forward(model.base.data_preprocessor({'inputs': list(x)})['inputs'])
    assert torch.equal(model(x, mode='tensor'), want)
    assert len(model.extract_feat(x)) == 1
    logits = model.encode_decode(x, [s.metainfo for s in samples])
    assert logits.shape == (2, 4, 48, 64)
    out = model.test_step(pseudo_collate([dict(inputs=i, data_samples=s)
                                          for i, s in zip(imgs, copy.deepcopy(samples))]))
    assert [o.pred_sem_seg.shape for o in out] == [(48, 64)] * 2
    with pytest.raises(NotImplementedError, match='train the saver and the base'):
        model(x, samples, mode='loss')
    assert len(model.predict(imgs)) == 2  # no samples: masks at the input size


# ------------------------------------------------------------------ bad input
def test_saver_and_base_with_different_class_counts_are_refused():
    with pytest.raises(ValueError, match=r"num_classes \{'saver': 4, 'base': 5\}"):
        _build(base=fcn_cfg(8, num_classes=5))


@pytest.mark.parametrize('threshold', [-0.1, 1.5, [0.5, 0.5]])
def test_threshold_outside_zero_one_is_refused(threshold):
    with pytest.raises(ValueError, match='outside \\[0, 1\\]|needs 1 threshold'):
        _build(threshold=threshold)
    model = _build()
    with pytest.raises(ValueError, match='outside \\[0, 1\\]|needs 1 threshold'):
        model.threshold = threshold


def test_binary_saver_is_refused_for_the_confidence_rules():
    with pytest.raises(ValueError, match=r"saver \(FCNHead\) cannot be scored by "
                                         r"exit_rule='mean_entropy'.*binary head"):
        _build(saver=fcn_cfg(4, num_classes=2, out_channels=1),
               base=fcn_cfg(8, num_classes=2), exit_rule='mean_entropy')


def test_mask2former_saver_is_refused_for_the_confidence_rules():
    pytest.importorskip('mmdet')
    import mmdet.models  # noqa: F401  (Mask2Former's pixel decoder is mmdet's)
    with pytest.raises(ValueError, match='mask-classification head \\(Mask2FormerHead\\)'):
        _build(saver=dict(cfg_path='mmseg::mask2former/'
                          'mask2former_r50_8xb2-90k_cityscapes-512x1024.py'),
               base=fcn_cfg(8, num_classes=19))


@pytest.mark.parametrize('kwargs, match', [
    (dict(exit_rule='evaluator'), "exit_rule='evaluator' needs evaluator"),
    (dict(exit_rule='max_prob'), "exit_rule='max_prob' is unknown"),
    (dict(exit_rule='quantile_max_prob', quantile=-0.2), 'quantile=-0.2 is outside'),
    (dict(train_cfg=dict(max_iters=3)), 'no train_cfg of its own'),
    (dict(test_cfg=dict(mode='slide')), 'no test_cfg of its own'),
])
def test_bad_cascade_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_a_stage_with_an_unknown_test_mode_is_refused():
    cfg = fcn_cfg(4)
    cfg['test_cfg'] = dict(mode='tiled')
    with pytest.raises(ValueError, match=r"saver has test_cfg=\{'mode': 'tiled'\}"):
        _build(saver=cfg)


# --------------------------------------------------------- through the Runner
def test_runner_test_gives_iou_metric_of_the_stages_merged_and_the_exit_ratio(tmp_path):
    """tools/test.py's path (a config on configs/_base_/cascades/seg_cascade.py, the
    MACs hook, IoUMetric + TinySaverMetric): mIoU equals IoUMetric on the saver's and
    the base's own predictions merged by exit score; whole-cascade weights load strictly."""
    import os.path as osp
    import mmcv
    from mmengine.config import Config
    from mmseg.evaluation import IoUMetric
    from mmseg.registry import DATASETS
    from tinysaver_mm.apis import run_test
    imgs, samples = seg_batch(7)
    for sub in ('img', 'ann'):
        (tmp_path / sub).mkdir()
    for i, (img, ds) in enumerate(zip(imgs, samples)):
        mmcv.imwrite(img.permute(1, 2, 0).numpy(), str(tmp_path / 'img' / f'{i}.png'))
        mmcv.imwrite(ds.gt_sem_seg.data[0].numpy().astype(np.uint8),
                     str(tmp_path / 'ann' / f'{i}.png'))
    dataset = dict(type='BaseSegDataset', data_root=str(tmp_path), img_suffix='.png',
                   seg_map_suffix='.png', metainfo=dict(classes=('a', 'b', 'c', 'd')),
                   data_prefix=dict(img_path='img', seg_map_path='ann'),
                   pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                             dict(type='PackSegInputs')])
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
    cfg_file = tmp_path / 'cascade.py'
    cfg_file.write_text(
        f"_base_ = {osp.join(root, 'configs/_base_/cascades/seg_cascade.py')!r}\n"
        f'model = dict(saver={fcn_cfg(4)!r}, base={fcn_cfg(16, mean=100.0, std=50.0)!r})\n'
        f'test_dataloader = dict(batch_size=4, num_workers=0, dataset={dataset!r},\n'
        "    sampler=dict(type='DefaultSampler', shuffle=False))\n"
        "test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),\n"
        "                  dict(type='TinySaverMetric')]\n"
        'val_dataloader, val_evaluator = test_dataloader, test_evaluator\n'
        'train_dataloader = test_dataloader  # seg_cascade.py keeps a training set-up\n'
        f'work_dir = {str(tmp_path / "work")!r}\n')
    cfg = Config.fromfile(str(cfg_file))
    model = _build(saver=fcn_cfg(4), base=fcn_cfg(16, mean=100.0, std=50.0))
    with DefaultScope.overwrite_default_scope('mmseg'):
        data = [DATASETS.build(dataset)[i] for i in range(7)]
    inputs = [d['inputs'] for d in data]
    given = [d['data_samples'] for d in data]
    scores = _scores(model, inputs, given)
    cfg.model.threshold = float(scores.median())
    torch.manual_seed(1)  # the Runner's cascade gets other random weights...
    weights = str(tmp_path / 'cascade.pth')
    torch.save(dict(state_dict=model.state_dict()), weights)  # ...and loads these
    metrics = run_test(cfg, weights)
    merged = []
    for ds, s, saver, base in zip(copy.deepcopy(given), scores, _alone(model, 'saver', inputs, given),
                                  _alone(model, 'base', inputs, given)):
        ds.set_data(dict(pred_sem_seg=(saver if s >= cfg.model.threshold else base).pred_sem_seg))
        merged.append(ds.to_dict())
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    metric.process({}, merged)
    assert metrics['mIoU'] == metric.compute_metrics(metric.results)['mIoU']
    assert metrics['tinysaver/exit_ratio'] == pytest.approx(
        float((scores >= cfg.model.threshold).float().mean()))
    assert 0 < metrics['tinysaver/macs_saved_pct'] < 100
