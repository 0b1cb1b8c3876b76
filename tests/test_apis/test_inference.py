"""init_cascade: a config (path or Config) to a ready cascade, checked against its stages alone."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tinysaver_mm.apis import init_cascade, merge_cascade

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
FMNIST = osp.join(ROOT, 'configs', 'fashion_mnist')
CFG = osp.join(FMNIST, 'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
ESN = osp.join(FMNIST, 'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py')


def _alone(name):
    """A stage built on its own from its config and checkpoint (the reference)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from tinysaver_mm.utils import load_checkpoint_strict, model_cfg_of
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg_of(Config.fromfile(osp.join(FMNIST, f'{name}.py'))))
    load_checkpoint_strict(model, osp.join(ROOT, 'checkpoints', 'fashion_mnist', f'{name}.pth'))
    return model.eval()


def _images(n=8):
    return torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(0),
                         dtype=torch.uint8)


def test_a_config_path_gives_the_stages_as_they_are_alone():
    model = init_cascade(CFG)
    assert not model.training and model.cfg.model.type == 'TinySaverClassifier'
    assert model.cfg.filename == CFG
    data = {'inputs': _images(), 'data_samples': None}
    for role, name in (('saver', 'resnet18-w4s2_fmnist'), ('base', 'resnet18-w16_fmnist')):
        got = [p.pred_score for p in getattr(model, role).test_step(data)]
        ref = [p.pred_score for p in _alone(name).test_step(data)]
        assert torch.equal(torch.stack(got), torch.stack(ref)), role
    # the routed answer of each image is the answering stage's own (real test images)
    from tinysaver_mm.apis.benchmark import first_test_batch
    data = {'inputs': first_test_batch(model.cfg, 64)[0], 'data_samples': None}
    preds = model.test_step(data)
    assert {p.answered_by for p in preds} == {'saver', 'base'}
    alone = {r: _alone(n).test_step(data) for r, n in (('saver', 'resnet18-w4s2_fmnist'),
                                                        ('base', 'resnet18-w16_fmnist'))}
    for i, p in enumerate(preds):
        assert torch.equal(p.pred_score, alone[p.answered_by][i].pred_score)


def test_a_config_object_is_copied_and_overrides_apply():
    cfg = Config.fromfile(CFG)
    before = cfg.model.threshold
    model = init_cascade(cfg, cfg_options={'model.threshold': 0.42})
    assert model.threshold == pytest.approx(0.42) and model.cfg.model.threshold == 0.42
    assert cfg.model.threshold == before  # the caller's config is left as it was


def test_random_weights_leave_the_stage_checkpoints_out():
    model = init_cascade(CFG, random_weights=True)
    ref = _alone('resnet18-w4s2_fmnist').state_dict()
    got = model.saver.state_dict()
    assert set(got) == set(ref)
    assert any(not torch.equal(got[k], ref[k]) for k in ref if ref[k].is_floating_point())


def test_a_whole_cascade_checkpoint_loads_strictly(tmp_path):
    out = str(tmp_path / 'whole.pth')
    merge_cascade(CFG, out)
    model = init_cascade(CFG, out, random_weights=True)  # the checkpoint brings the weights
    ref = _alone('resnet18-w4s2_fmnist').state_dict()
    assert all(torch.equal(model.saver.state_dict()[k], v) for k, v in ref.items())
    ckpt = torch.load(out, weights_only=False)
    ckpt['state_dict'].pop(next(iter(ckpt['state_dict'])))
    torch.save(ckpt, str(tmp_path / 'cut.pth'))
    with pytest.raises(ValueError, match='missing'):
        init_cascade(CFG, str(tmp_path / 'cut.pth'))


def test_bad_requests_are_refused_naming_the_value():
    with pytest.raises(TypeError, match="model type 'ImageClassifier' is not a TinySaver cascade"):
        init_cascade(osp.join(FMNIST, 'resnet18-w16_fmnist.py'))
    with pytest.raises(TypeError, match='a file path or a Config'):
        init_cascade(dict(model=dict(type='TinySaverClassifier')))
    with pytest.raises(FileNotFoundError, match='no_such.py'):
        init_cascade('no_such.py')
    with pytest.raises(ValueError, match=r"TinySaverESN\(backend='onnxruntime'.*runs on PyTorch only"):
        init_cascade(ESN, backend='onnxruntime', deploy_dir='somewhere')
