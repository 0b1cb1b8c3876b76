"""The ESN's workflow through the tools' library calls, on real Fashion-MNIST images.

tools/train.py (only the exits train; checkpoints hold the exits alone, bound
to the saver and base; resume), tools/record.py (every routing step) and
tools/calibrate.py's multi-exit search, each checked against the routed
ESN itself (a threshold vector that sends every image to one exit).
"""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG = osp.join(ROOT, 'configs', 'fashion_mnist', 'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py')
DATA = osp.join(ROOT, 'data', 'fashion_mnist')
STEPS = ('saver', 'exit1', 'exit2', 'exit3', 'base')
OFF = 1.01


def small(n_train=256, n_val=64, **extra):
    """Overrides for a quick run: few images, no workers, one epoch."""
    opts = {'train_dataloader.dataset.indices': n_train, 'train_dataloader.batch_size': 64,
            'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
            'train_dataloader.dataset.data_root': DATA,
            'val_dataloader.dataset.indices': range(55000, 55000 + n_val),
            'val_dataloader.num_workers': 0, 'val_dataloader.dataset.data_root': DATA,
            'test_dataloader.dataset.indices': n_val, 'test_dataloader.num_workers': 0,
            'test_dataloader.dataset.data_root': DATA,
            'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1}
    opts.update(extra)
    return opts


def build(cfg_options=None):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    from tinysaver_mm.apis import load_cfg
    cfg = load_cfg(CFG, cfg_options)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One epoch of exit training on 256 images, published."""
    from tinysaver_mm.apis import load_cfg, run_train
    work = tmp_path_factory.mktemp('esn_train')
    published = str(work / 'exits.pth')
    torch.manual_seed(0)
    cfg = load_cfg(CFG, small(), str(work))
    best = run_train(cfg, publish=published)
    return dict(work=str(work), last=best, published=published)


def test_training_checkpoints_hold_only_the_exits_bound_to_the_stages(trained):
    from tinysaver_mm.utils import load_checkpoint_file, state_dict_fingerprint
    ckpt = load_checkpoint_file(trained['last'])
    keys = set(ckpt['state_dict'])
    fresh = build()  # the config's stages, untrained exits
    assert keys == set(fresh.exits.state_dict())  # the exits' own names, nothing else
    assert ckpt['meta']['trained_part'] == 'exits'
    fp = lambda t: bytes(t.tolist())  # noqa: E731
    assert fp(ckpt['state_dict']['saver_fingerprint']) == state_dict_fingerprint(fresh.saver)
    assert fp(ckpt['state_dict']['base_fingerprint']) == state_dict_fingerprint(fresh.base)
    pub = load_checkpoint_file(trained['published'])
    assert set(pub['state_dict']) == keys


def test_the_trained_exits_load_learn_and_leave_the_stages_untouched(trained):
    from tinysaver_mm.utils import load_checkpoint_file
    model = build({'model.exits.checkpoint': trained['published']})
    shipped = {r: load_checkpoint_file(osp.join(ROOT, 'checkpoints', 'fashion_mnist',
                                                f'resnet18-{w}_fmnist.pth'))['state_dict']
               for r, w in (('saver', 'w4s2'), ('base', 'w16'))}
    for role, sd in shipped.items():
        now = getattr(model, role).state_dict()
        assert all(torch.equal(now[k], v) for k, v in sd.items())  # BN statistics too
    torch.manual_seed(0)  # the exits' initial weights, as the run started
    untrained = build()
    moved = [k for k, v in model.exits.state_dict().items() if v.dtype.is_floating_point
             and not torch.equal(v, untrained.exits.state_dict()[k])]
    assert moved
    assert len(model.predict(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))) == 4


def test_exits_trained_for_another_base_are_refused(trained):
    with pytest.raises(ValueError, match='exits was trained for another base'):
        build({'model.exits.checkpoint': trained['published'], 'model.base.checkpoint': None})


def test_training_resumes_from_an_exits_checkpoint(trained, tmp_path):
    import shutil
    from tinysaver_mm.apis import load_cfg, run_train
    from tinysaver_mm.utils import load_checkpoint_file
    work = str(tmp_path / 'resume')
    shutil.copytree(trained['work'], work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:  # the copy's own file
        f.write(osp.join(work, osp.basename(trained['last'])))
    cfg = load_cfg(CFG, small(**{'train_cfg.max_epochs': 2}), work)
    last = run_train(cfg, resume=True)
    ckpt = load_checkpoint_file(last)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['trained_part'] == 'exits'
    assert osp.basename(last) == 'epoch_2.pth'


@pytest.fixture(scope='module')
def records(tmp_path_factory, trained):
    from tinysaver_mm.apis import load_cfg, record
    out = tmp_path_factory.mktemp('esn_records')
    opts = {'model.exits.checkpoint': trained['published'],
            'test_dataloader.dataset.indices': 96, 'test_dataloader.num_workers': 0,
            'test_dataloader.dataset.data_root': DATA}
    cfg = load_cfg(CFG, opts)
    paths = record(cfg, None, 'test', out_dir=str(out), config_path=CFG)
    return dict(paths=paths, opts=opts, out=str(out))


def test_records_hold_every_routing_step_as_the_routed_esn_answers_it(records):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    from tinysaver_mm.apis import load_cfg
    paths = records['paths']
    assert [osp.basename(p) for p in paths] == [
        f'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist_test_{s}.npz' for s in STEPS]
    recs = [np.load(p) for p in paths]
    metas = [json.loads(str(r['meta'])) for r in recs]
    assert all(m['route_steps'] == list(STEPS) for m in metas)
    model = build(records['opts'])
    cfg = load_cfg(CFG, records['opts'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(cfg.test_dataloader.dataset)
    raw = torch.stack([ds[i]['inputs'] for i in range(len(ds))])
    for j, (rec, meta) in enumerate(zip(recs, metas)):
        if j < len(STEPS) - 1:  # every image leaves at exit j
            model.threshold = [OFF] * j + [0.0] + [OFF] * (len(STEPS) - 2 - j)
        else:
            model.threshold = [OFF] * (len(STEPS) - 1)
        out = model.predict(raw)
        assert all(p.exited_at == j for p in out)
        want = torch.stack([p.pred_score for p in out]).numpy()
        np.testing.assert_allclose(rec['probs'].astype(np.float32), want, atol=2e-3)  # float16
        np.testing.assert_allclose(rec['conf_max_prob'], want.max(1), atol=1e-5)
        cost = sum(m['macs_per_img'] for m in metas[:j + 1])
        assert all(p.macs == cost for p in out)  # what an image leaving at j paid
        assert meta['macs_base_alone'] == out[0].macs_base_alone


def test_multi_exit_calibration_from_the_records_is_what_the_esn_does(records, tmp_path):
    from tinysaver_mm.apis.calibrate import calibrate_exits
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    from tinysaver_mm.apis import load_cfg
    out = str(tmp_path / 'cal.json')
    r = calibrate_exits(records['paths'], 'drop', epsilon=0.02, out=out)
    assert len(r['thresholds']) == 4 and osp.isfile(tmp_path / 'cal.png')
    model = build(records['opts'])
    model.threshold = r['thresholds']
    cfg = load_cfg(CFG, records['opts'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(cfg.test_dataloader.dataset)
    items = [ds[i] for i in range(len(ds))]
    pred = model.predict(torch.stack([it['inputs'] for it in items]),
                         [copy.deepcopy(it['data_samples']) for it in items])
    top1 = 100 * np.mean([int(p.pred_label) == int(p.gt_label) for p in pred])
    assert top1 == pytest.approx(r['top1'])
    shares = {s: np.mean([p.answered_by == s for p in pred]) for s in STEPS}
    assert shares == pytest.approx(r['shares'])
    assert np.mean([p.macs for p in pred]) / 1e9 == pytest.approx(r['gmacs_cascade'])
    with pytest.raises(ValueError, match='every step'):
        calibrate_exits([records['paths'][0], records['paths'][2], records['paths'][4]],
                        'drop', epsilon=0.02, out=str(tmp_path / 'x.json'))
    from tinysaver_mm.apis.calibrate import calibrate
    with pytest.raises(ValueError, match='routing steps of a TinySaverESN'):
        calibrate(records['paths'][0], records['paths'][-1], 'drop', epsilon=0.02,
                  out=str(tmp_path / 'y.json'))


def test_a_whole_esn_checkpoint_merges_and_loads_as_host_tools_do(trained, tmp_path):
    """tools/merge_cascade.py on an ESN: one file with every part, the exits'
    binding in its meta; loading it into the config's model (as tools/test.py's
    CKPT does) gives the same routed predictions; it may not overwrite the exits."""
    from tinysaver_mm.apis import merge_cascade
    from tinysaver_mm.utils import load_checkpoint_strict, state_dict_fingerprint
    opts = {'model.exits.checkpoint': trained['published'],
            'model.threshold': [0.9, 0.6, 0.6, 0.6]}
    out = str(tmp_path / 'whole.pth')
    meta = merge_cascade(CFG, out, opts)['tinysaver_cascade']
    model = build(opts)
    assert meta['trained_for']['exits'] == {
        'saver': state_dict_fingerprint(model.saver).hex(),
        'base': state_dict_fingerprint(model.base).hex()}
    assert meta['fingerprints']['exits'] == state_dict_fingerprint(model.exits).hex()
    fresh = build({'model.threshold': [0.9, 0.6, 0.6, 0.6]})  # untrained exits
    load_checkpoint_strict(fresh, out)
    raw = torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    for a, b in zip(model.predict(raw), fresh.predict(raw)):
        assert a.exited_at == b.exited_at and torch.equal(a.pred_score, b.pred_score)
    with pytest.raises(ValueError, match='is the input'):  # never onto the exits it reads
        merge_cascade(CFG, trained['published'], opts, overwrite=True)


def test_deploy_says_an_esn_has_no_onnx_backend():
    from tinysaver_mm.apis.deploy import init_deployable
    with pytest.raises(TypeError, match='TinySaverESN has no ONNX backend'):
        init_deployable(CFG)
