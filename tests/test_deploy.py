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


def test_onnxruntime_cascade_equals_pytorch(deployed):
    """Same probabilities (1e-4) and the same routing, against the eager cascade."""
    imgs = _test_images(512)
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
    assert int((exit_e != exit_o)[~near].sum()) == 0
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
