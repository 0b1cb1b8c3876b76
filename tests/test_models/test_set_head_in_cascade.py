"""The set-encoder evaluator head inside TinySaverDetector: routed scores, and what is refused."""
import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import tinysaver_mm  # noqa: E402,F401
from tinysaver_mm.testing.det_stages import det_batch, rtmdet_cfg  # noqa: E402
from tinysaver_mm.utils import state_dict_fingerprint  # noqa: E402


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def _cascade(**kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinySaverDetector', saver=rtmdet_cfg(0.125),
                             base=rtmdet_cfg(0.25, channels=48), **kw))


def _head_file(tmp_path, target='binary', **cfg):
    head = MODELS.build(dict(type='TinySaverSetEvaluatorHead', num_classes=3, topk=4,
                             max_boxes=6, target=target, **cfg))
    head.set_trained_for(state_dict_fingerprint(_cascade().saver))
    head.set_trained_target()
    torch.save(dict(state_dict=head.state_dict(), meta=dict(threshold=0.5)), tmp_path / 'h.pth')
    return dict(type='TinySaverSetEvaluatorHead', num_classes=3, topk=4, max_boxes=6,
                target=target, checkpoint=str(tmp_path / 'h.pth'), **cfg)


def test_set_head_scores_route_the_cascade(tmp_path):
    model = _cascade(evaluator=_head_file(tmp_path), threshold=None, empty_exits=True)
    assert model.exit_rule == 'evaluator' and model.threshold == 0.5
    imgs, samples = det_batch(4)
    preds, _ = model.branches['saver'].predict(imgs, samples)
    ref = model.evaluator.score(model.evaluator.inputs(
        preds, [s.metainfo['ori_shape'] for s in samples]))
    out = model.predict(imgs, samples)
    got = torch.tensor([ds.metainfo['exit_score'] for ds in out])
    assert torch.allclose(got, ref.float(), atol=1e-6)
    assert all(ds.metainfo['exited'] == bool(r >= 0.5) for ds, r in zip(out, ref))


def test_flip_head_and_target_mismatch_are_refused_at_build(tmp_path):
    with pytest.raises(ValueError, match='flipped image .*cannot give it that view'):
        _cascade(evaluator=_head_file(tmp_path, flip=True))
    spec = _head_file(tmp_path, target='oric')
    with pytest.raises(ValueError, match="trained on the 'oric' target"):
        _cascade(evaluator=dict(spec, target='binary'))
