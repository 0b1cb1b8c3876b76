"""TinySaverSetEvaluatorHead: set behaviour, standardisation, and the training-target guard."""
import pytest
import torch

pytest.importorskip('mmdet')
from mmengine.structures import InstanceData  # noqa: E402

from tinysaver_mm.apis.exit_heads import fit_det_head  # noqa: E402
from tinysaver_mm.models.detectors import (TinySaverEvaluatorHead,  # noqa: E402
                                           TinySaverSetEvaluatorHead)
from tinysaver_mm.utils import load_checkpoint_strict  # noqa: E402


def _inst(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 60
    inst = InstanceData()
    inst.bboxes = torch.cat([xy, xy + 5 + torch.rand(n, 2, generator=g) * 30], 1)
    inst.scores = torch.rand(n, generator=g)
    inst.labels = torch.randint(0, 3, (n, ), generator=g)
    return inst


def _trained(target='binary', n=40):
    head = TinySaverSetEvaluatorHead(3, topk=4, max_boxes=6, token_channels=8,
                                     hidden_channels=8, target=target)
    insts = [_inst(i % 9, i) for i in range(n)]
    x = head.inputs(insts, [(80, 100)] * n)
    y = torch.tensor([float(len(p) > 4) for p in insts])
    fit_det_head(head, x, y, steps=40)
    return head, insts


def test_set_head_ignores_detection_order_and_padding():
    head, insts = _trained()
    p = insts[7]
    perm = torch.randperm(len(p), generator=torch.Generator().manual_seed(0))
    q = InstanceData(bboxes=p.bboxes[perm], scores=p.scores[perm], labels=p.labels[perm])
    a, b = head.score(head.inputs([p, q], [(80, 100)] * 2))
    assert a == pytest.approx(float(b), abs=1e-6)
    # the padded token columns are standardised with real tokens' statistics only
    x = head.inputs(insts, [(80, 100)] * len(insts))
    _, t, m = head._split(x)
    real = t[m > 0.5]
    g = head.global_channels
    assert torch.allclose(head.input_mean[g:g + head.token_width], real.mean(0), atol=1e-5)
    empty = InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                         labels=torch.zeros(0, dtype=torch.long))
    assert torch.isfinite(head.score(head.inputs([empty], [(80, 100)]))).all()


def test_set_head_learns_a_set_signal():
    head, insts = _trained(n=80)
    x = head.inputs(insts, [(80, 100)] * len(insts))
    y = torch.tensor([float(len(p) > 4) for p in insts])
    s = head.score(x)
    assert s[y > 0.5].mean() > s[y < 0.5].mean() + 0.3


def test_a_head_trained_on_one_target_is_refused_as_another(tmp_path):
    head, _ = _trained('oric')
    path = str(tmp_path / 'h.pth')
    torch.save(dict(state_dict=head.state_dict(), meta={}), path)
    cfg = dict(num_classes=3, topk=4, max_boxes=6, token_channels=8, hidden_channels=8)
    load_checkpoint_strict(TinySaverSetEvaluatorHead(**cfg, target='oric'), path)
    with pytest.raises(ValueError, match=r"trained on the 'oric' target .* target='binary'"):
        load_checkpoint_strict(TinySaverSetEvaluatorHead(**cfg, target='binary'), path)
    with pytest.raises(ValueError, match='not an evaluator target'):
        TinySaverSetEvaluatorHead(3, target='gain')


def test_image_level_head_checkpoints_before_targets_load_as_binary(tmp_path):
    head = TinySaverEvaluatorHead(3, topk=4, hidden_channels=8)
    old = {k: v for k, v in head.state_dict().items() if k != 'trained_target'}
    path = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict=old, meta={}), path)
    load_checkpoint_strict(TinySaverEvaluatorHead(3, topk=4, hidden_channels=8), path)
    with pytest.raises(ValueError, match="trained on the 'binary' target"):
        load_checkpoint_strict(TinySaverEvaluatorHead(3, topk=4, hidden_channels=8,
                                                      target='oric'), path)


def test_flip_head_needs_the_flipped_view():
    head = TinySaverSetEvaluatorHead(3, topk=4, max_boxes=6, flip=True)
    with pytest.raises(ValueError, match='flip_instances'):
        head.inputs([_inst(3, 0)], [(80, 100)])
    x = head.inputs([_inst(3, 0)], [(80, 100)], flip_instances=[_inst(3, 1)])
    assert x.shape == (1, head.in_channels)
