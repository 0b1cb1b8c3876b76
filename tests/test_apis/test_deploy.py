"""ONNX Runtime backend: the same routed cascade, stages run from exported graphs."""
import json
import shutil
import sys

import numpy as np
import pytest
import torch

from tinysaver_mm.apis import load_cfg
from tinysaver_mm.apis.deploy import deploy

CFG = 'configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py'
OTHER = 'configs/fashion_mnist/tinysaver_convnet-c16-32-64_resnet18-w16_fmnist.py'


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    out = tmp_path_factory.mktemp('deploy') / 'w4s2'
    deploy(CFG, str(out))
    return out


def _model(deploy_dir=None, config=CFG):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = load_cfg(config)
    init_default_scope('mmpretrain')
    kw = {} if deploy_dir is None else dict(backend='onnxruntime', deploy_dir=str(deploy_dir))
    return MODELS.build(dict(cfg.model, **kw)).eval()


def _test_images(n):
    from mmpretrain.datasets import FashionMNIST
    ds = FashionMNIST('data/fashion_mnist', split='test', download=False)
    return [torch.from_numpy(np.asarray(ds.get_data_info(i)['img'])).unsqueeze(0)
            for i in range(n)]


@pytest.mark.parametrize('n', [512, pytest.param(10000, marks=pytest.mark.slow)])
def test_onnxruntime_cascade_equals_pytorch(deployed, n):
    """Same probabilities (1e-4) and the same routing, against the eager cascade
    (the slow case: the whole Fashion-MNIST test split)."""
    imgs = _test_images(n)
    eager, ort = _model(), _model(deployed)
    thr = float(np.ravel(eager.threshold)[0])
    got = {}
    with torch.no_grad():
        for name, m in (('eager', eager), ('ort', ort)):
            out = []
            for i in range(0, len(imgs), 128):
                batch = m.data_preprocessor(dict(inputs=imgs[i:i + 128]), False)['inputs']
                out += m.predict(batch)
            got[name] = out
    score = torch.stack([s.pred_score for s in got['eager']])
    score_ort = torch.stack([s.pred_score for s in got['ort']])
    assert (score - score_ort).abs().max() < 1e-4
    exit_e = np.array([bool(s.exited) for s in got['eager']])
    exit_o = np.array([bool(s.exited) for s in got['ort']])
    conf = np.array([float(s.exit_score) for s in got['eager']])
    near = np.abs(conf - thr) < 1e-5  # a graph's float rounding may decide these
    flips = exit_e != exit_o
    print(f'{n} images: {int(flips.sum())} routing flips, {int(near.sum())} within 1e-5 of '
          f'the threshold, max |d score| {float((score - score_ort).abs().max()):.2g}')
    assert int(flips[~near].sum()) == 0
    assert 0.3 < exit_e.mean() < 1.0  # both routes really taken


def test_changed_onnx_file_is_refused(deployed, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(deployed, bad)
    with open(bad / 'base.onnx', 'ab') as f:
        f.write(b'\0')
    with pytest.raises(ValueError, match='SHA-256'):
        _model(bad)


def test_manifest_of_another_cascade_is_refused(deployed):
    with pytest.raises(ValueError, match='other weights|parts'):
        _model(deployed, OTHER)


def test_missing_onnxruntime_names_the_package(deployed, monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match='onnxruntime'):
        _model(deployed)


def test_unknown_backend_and_missing_deploy_dir(deployed):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = load_cfg(CFG)
    init_default_scope('mmpretrain')
    with pytest.raises(ValueError, match="backend='tensorrt' is unknown"):
        MODELS.build(dict(cfg.model, backend='tensorrt'))
    with pytest.raises(ValueError, match='deploy_dir'):
        MODELS.build(dict(cfg.model, backend='onnxruntime'))
    assert json.loads((deployed / 'manifest.json').read_text())['exit_rule'] == 'max_prob'


def test_end_to_end_rows_match_the_test_loop_on_both_backends(tmp_path):
    """img/s of tools/test.py's loop per backend: each variant's metrics are what run_test gives."""
    pytest.importorskip('onnxruntime')
    import csv
    import os.path as osp

    from tinysaver_mm.apis import load_cfg, run_test
    from tinysaver_mm.apis.benchmark import end_to_end_throughput
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
    cascade = osp.join(root, 'configs', 'fashion_mnist',
                       'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    cfg = tmp_path / 'small.py'
    cfg.write_text(f"_base_ = ['{cascade}']\n"
                   'test_dataloader = dict(num_workers=0, persistent_workers=False, '
                   'dataset=dict(indices=300))\n')
    out = str(tmp_path / 'e2e.csv')
    rows = end_to_end_throughput(str(cfg), repeats=1, out=out)
    got = {(r['backend'], r['model']): r for r in rows}
    assert sorted(got) == [('onnxruntime', 'base'), ('onnxruntime', 'cascade'),
                           ('pytorch', 'base'), ('pytorch', 'cascade')]
    ref = run_test(load_cfg(str(cfg), work_dir=str(tmp_path / 'ref')))
    for backend in ('pytorch', 'onnxruntime'):
        r = got[backend, 'cascade']
        assert r['num_images'] == 300 and r['img_per_s'] > 0
        assert r['top1_pct'] == pytest.approx(ref['accuracy/top1'], abs=1e-6)
        assert r['exit_ratio'] == pytest.approx(ref['tinysaver/exit_ratio'])
    # base alone, eager and exported, agree (the export equals eager to 1e-4)
    assert got['pytorch', 'base']['top1_pct'] == pytest.approx(
        got['onnxruntime', 'base']['top1_pct'], abs=100 / 300 + 1e-9)
    assert len(list(csv.DictReader(open(out)))) == 4


def test_deployed_stage_alone_equals_the_eager_stage(deployed):
    from mmpretrain.registry import MODELS
    eager = _model()
    alone = MODELS.build(dict(type='TinySaverDeployedStage', deploy_dir=str(deployed),
                              stage='base'))
    images = _test_images(64)
    got = alone.predict(images)
    want = eager.stage_probs('base', images)
    scores = torch.stack([ds.pred_score for ds in got])
    assert torch.allclose(scores, want, atol=1e-4)
    assert [int(ds.pred_label) for ds in got] == want.argmax(1).tolist()
    with pytest.raises(RuntimeError, match="mode='loss'.*inference only"):
        alone(torch.stack(images).float(), None, mode='loss')
    with pytest.raises(ValueError, match=r"stage='mid0' is not in .*\['base', 'saver'\]"):
        MODELS.build(dict(type='TinySaverDeployedStage', deploy_dir=str(deployed), stage='mid0'))
