"""A learned exit score for plain TinySaver: training, calibration and routing with it."""
import numpy as np
import pytest
import torch

from tinysaver_mm.apis.exit_heads import train_cls_evaluator
from tinysaver_mm.core import CONFIDENCE_RULES
from tinysaver_mm.core.cls_features import cls_exit_features
from tinysaver_mm.testing import register_test_models, stage_cfg
from tinysaver_mm.testing.cls_records import write
from tinysaver_mm.utils import OutputExistsError, state_dict_fingerprint

K = 10


@pytest.fixture(scope='module', autouse=True)
def _models():
    register_test_models()


def _saver(tmp_path, seed=0):
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(stage_cfg(num_classes=K))
    path = str(tmp_path / f'saver{seed}.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path, state_dict_fingerprint(model).hex()


def _records(tmp_path, fingerprint, n=600, seed=0, tag='val'):
    """The saver is wrong exactly when its top-2 probabilities are close to each
    other at a mid confidence: a pattern max_prob alone cannot see."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    top1 = rng.uniform(0.3, 0.9, n)
    close = rng.random(n) < 0.35
    second = np.where(close, top1 - rng.uniform(0, 0.02, n), rng.uniform(0, 0.1, n))
    probs = np.zeros((n, K))
    pred = np.where(close & (rng.random(n) < 0.7), (labels + 1) % K, labels)
    probs[np.arange(n), pred] = top1
    probs[np.arange(n), (pred + 3) % K] = np.minimum(second, 1 - top1)
    rest = 1 - probs.sum(1)
    probs += rest[:, None] / K
    base = np.eye(K)[labels] * 0.9 + 0.01
    return (write(tmp_path / f's_{tag}.npz', probs, labels, 1_000, split=tag,
                  fingerprint=fingerprint),
            write(tmp_path / f'b_{tag}.npz', base, labels, 50_000, split=tag))


def test_head_is_trained_calibrated_and_compared_on_test(tmp_path):
    _, fp = _saver(tmp_path)
    s, b = _records(tmp_path, fp)
    st, bt = _records(tmp_path, fp, seed=1, tag='test')
    out = str(tmp_path / 'ev.pth')
    r = train_cls_evaluator(s, b, out, max_drop=0.005, saver_test=st, base_test=bt,
                            results=str(tmp_path / 'ev.json'), steps=300)
    assert set(r['policies']) == set(CONFIDENCE_RULES) | {'evaluator'}
    for row in r['policies'].values():
        assert row['calib']['top1_drop_pts'] <= 0.5 + 1e-9
        assert row['test_equal_drop']['top1_drop_pts'] <= 0.5 + 1e-9
    assert r['auc_calib']['evaluator'] > r['auc_calib']['max_prob'] + 0.1
    ev, mp = r['policies']['evaluator'], r['policies']['max_prob']
    assert ev['test_equal_drop']['exit_ratio'] > mp['test_equal_drop']['exit_ratio']
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['threshold'] == ev['threshold']
    assert ckpt['meta']['saver_fingerprint'] == fp
    with pytest.raises(OutputExistsError):
        train_cls_evaluator(s, b, out)
    with pytest.raises(ValueError, match='own input'):
        train_cls_evaluator(s, b, s, overwrite=True)


def test_cascade_routes_on_the_head_score_and_refuses_another_saver(tmp_path):
    saver_ckpt, fp = _saver(tmp_path)
    s, b = _records(tmp_path, fp)
    out = str(tmp_path / 'ev.pth')
    r = train_cls_evaluator(s, b, out, steps=50)
    from mmpretrain.registry import MODELS
    head_cfg = dict(r['head_cfg'], checkpoint=out)
    cfg = dict(type='TinySaverClassifier', saver=dict(stage_cfg(num_classes=K),
                                                       checkpoint=saver_ckpt),
               base=stage_cfg(channels=8, num_classes=K), evaluator=head_cfg, threshold=None)
    model = MODELS.build(cfg).eval()
    assert model.exit_rule == 'evaluator'
    assert model.threshold == pytest.approx(r['policies']['evaluator']['threshold'])
    model.threshold = 0.5
    imgs = torch.randint(0, 255, (12, 1, 8, 8), dtype=torch.uint8)
    preds = model.predict(imgs)
    saver_p = model.stage_probs('saver', imgs)
    score = model.evaluator.score(cls_exit_features(saver_p, r['head_cfg']['topk']))
    exited = np.array([p.exited for p in preds])
    assert np.array_equal(exited, (score >= 0.5).numpy())
    base_p = model.stage_probs('base', imgs)
    for p, e, sp, bp in zip(preds, exited, saver_p, base_p):
        assert torch.allclose(p.pred_score, sp if e else bp)
        assert p.macs == p.macs_saver + p.macs_evaluator + (0 if e else p.macs_base)
    assert preds[0].macs_evaluator > 0
    other, _ = _saver(tmp_path, seed=1)
    with pytest.raises(ValueError, match='fingerprint|trained for'):
        MODELS.build(dict(cfg, saver=dict(stage_cfg(num_classes=K), checkpoint=other)))
    with pytest.raises(ValueError, match="exit_rule='evaluator' needs evaluator"):
        MODELS.build(dict(cfg, evaluator=None, exit_rule='evaluator', threshold=0.5))
    with pytest.raises(ValueError, match='built for 10 classes'):
        model.evaluator.inputs(torch.rand(2, 3).softmax(1))
