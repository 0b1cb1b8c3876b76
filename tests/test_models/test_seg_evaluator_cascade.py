"""The segmentation cascade with its learned evaluator, and its report mode."""
import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')
from mmengine.registry import DefaultScope  # noqa: E402

from tinysaver_mm.core import seg_confidence  # noqa: E402
from tinysaver_mm.core.seg_features import seg_exit_features  # noqa: E402
from tinysaver_mm.testing.seg_stages import fcn_cfg, seg_batch  # noqa: E402
from tinysaver_mm.utils import state_dict_fingerprint  # noqa: E402

C = 4


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _stage(tmp_path, width, seed):
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(ConfigDict(fcn_cfg(width, num_classes=C)))
    path = str(tmp_path / f'stage{width}_{seed}.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path, model


def _head(tmp_path, saver_model, threshold=0.5):
    from tinysaver_mm.models.segmentors import TinySaverSegEvaluatorHead
    torch.manual_seed(1)
    head = TinySaverSegEvaluatorHead(C)
    head.set_trained_for(state_dict_fingerprint(saver_model))
    path = str(tmp_path / 'ev.pth')
    torch.save(dict(state_dict=head.state_dict(), meta=dict(threshold=threshold)), path)
    return path, head


def _cascade(tmp_path, **kw):
    from mmseg.registry import MODELS
    import tinysaver_mm.models.segmentors  # noqa: F401
    saver_ckpt, saver = _stage(tmp_path, 4, 0)
    base_ckpt, base = _stage(tmp_path, 8, 1)
    ev, head = _head(tmp_path, saver)
    cfg = dict(type='TinySaverSegmentor',
               saver=dict(fcn_cfg(4, num_classes=C), checkpoint=saver_ckpt),
               base=dict(fcn_cfg(8, num_classes=C), checkpoint=base_ckpt),
               evaluator=dict(type='TinySaverSegEvaluatorHead', num_classes=C, checkpoint=ev),
               threshold=None)
    cfg.update(kw)
    return MODELS.build(cfg).eval(), saver.eval(), base.eval(), head.eval(), cfg


def _alone(model, imgs, samples):
    from mmseg.structures import SegDataSample
    batch = model.data_preprocessor(
        dict(inputs=list(imgs), data_samples=[SegDataSample(metainfo=s.metainfo)
                                              for s in samples]), False)
    with torch.no_grad():
        return model.predict(batch['inputs'], batch['data_samples'])


def test_evaluator_routes_and_reports_every_policy(tmp_path):
    model, saver, base, head, cfg = _cascade(tmp_path, report=True)
    assert model.exit_rule == 'evaluator' and model.threshold == 0.5
    imgs, samples = seg_batch(n=8, num_classes=C)
    s_alone, b_alone = _alone(saver, imgs, samples), _alone(base, imgs, samples)
    score = head.score(seg_exit_features([o.seg_logits.data.softmax(0) for o in s_alone]))
    t = float(np.median(score.numpy()))
    model.threshold = t
    out = model.predict(list(imgs), samples)
    exited = np.array([o.exited for o in out])
    assert np.array_equal(exited, (score >= t).numpy()) and 0 < exited.sum() < 8
    for o, e, s, b in zip(out, exited, s_alone, b_alone):
        ref = s if e else b
        assert torch.equal(o.pred_sem_seg.data, ref.pred_sem_seg.data)
        assert o.macs == o.macs_saver + o.macs_evaluator + (0 if e else o.macs_base)
        # report mode: both models' masks on every image, every policy's score
        assert torch.equal(o.saver_sem_seg.data, s.pred_sem_seg.data)
        assert torch.equal(o.base_sem_seg.data, b.pred_sem_seg.data)
        assert set(o.policy_scores) == {'mean_max_prob', 'quantile_max_prob', 'mean_entropy',
                                        'evaluator'}
    for rule in ('mean_max_prob', 'mean_entropy'):
        ref = seg_confidence([s.seg_logits.data for s in s_alone], rule)
        got = torch.tensor([o.policy_scores[rule] for o in out], dtype=torch.float64)
        assert torch.allclose(got, ref.double(), atol=1e-6)
    got = torch.tensor([o.policy_scores["evaluator"] for o in out], dtype=torch.float64)
    assert torch.allclose(got, score.double(), atol=1e-6)


def test_an_evaluator_for_another_saver_or_class_count_is_refused(tmp_path):
    from mmseg.registry import MODELS
    _, _, _, _, cfg = _cascade(tmp_path)
    other_ckpt, _ = _stage(tmp_path, 4, 7)
    with pytest.raises(ValueError, match='fingerprint|trained for'):
        MODELS.build(dict(cfg, saver=dict(fcn_cfg(4, num_classes=C), checkpoint=other_ckpt)))
    from tinysaver_mm.models.segmentors import TinySaverSegEvaluatorHead
    path = str(tmp_path / 'ev5.pth')
    torch.save(dict(state_dict=TinySaverSegEvaluatorHead(5).state_dict()), path)
    with pytest.raises(ValueError, match='evaluator is for 5 classes'):
        MODELS.build(dict(cfg, evaluator=dict(type='TinySaverSegEvaluatorHead', num_classes=5,
                                              checkpoint=path), threshold=0.5))
    with pytest.raises(ValueError, match='threshold=None takes the threshold stored'):
        MODELS.build(dict(cfg, evaluator=None, exit_rule='mean_max_prob'))
