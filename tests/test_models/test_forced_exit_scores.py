"""BaseCascade.forced_exit_scores: routing on given scores, the stages alone as reference."""
import pytest
import torch

from tinysaver_mm.core import CONFIDENCE_RULES
from tinysaver_mm.testing import stage_cfg


def _model(threshold=0.5):
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinySaverClassifier', saver=stage_cfg(channels=2),
                             base=stage_cfg(channels=8), threshold=threshold)).eval()


def _batch(n=12):
    return torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(n))


def test_rows_exit_where_the_forced_score_reaches_the_threshold():
    model = _model()
    raw = _batch()
    data = {'inputs': raw, 'data_samples': None}
    forced = torch.rand(len(raw), generator=torch.Generator().manual_seed(1))
    saver = [p.pred_score for p in model.saver.test_step(data)]
    base = [p.pred_score for p in model.base.test_step(data)]
    rules = dict(CONFIDENCE_RULES)
    with model.forced_exit_scores(lambda step, out: forced[:len(out)]):
        preds = model.test_step(data)
    assert dict(CONFIDENCE_RULES) == rules  # no rule injected anywhere
    exits = forced >= 0.5
    assert 0 < int(exits.sum()) < len(raw)
    for i, p in enumerate(preds):
        assert p.answered_by == ('saver' if exits[i] else 'base')
        assert torch.allclose(p.pred_score, saver[i] if exits[i] else base[i], atol=1e-6)
    # outside the block the exit rule decides again, as a fresh cascade does
    again = [p.answered_by for p in model.test_step(data)]
    assert again == [p.answered_by for p in _model().test_step(data)]


def test_the_override_is_restored_when_the_block_fails():
    model = _model()
    with pytest.raises(RuntimeError, match='boom'):
        with model.forced_exit_scores(lambda step, out: torch.ones(len(out))):
            raise RuntimeError('boom')
    assert model._forced_scores is None
