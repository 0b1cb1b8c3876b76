"""BaseCascade mechanics beyond routing: loss delegation to a trainable part."""
import pytest
import torch

from tinysaver_mm.testing import stage_cfg


def _cascade():
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinySaverClassifier', saver=stage_cfg(channels=2, std=255.0),
                             base=stage_cfg(channels=8, mean=128.0, std=64.0), threshold=0.5))


def test_loss_trains_only_the_trainable_part():
    from mmpretrain.structures import DataSample
    from tinysaver_mm.testing.toy_part import ToyExitHead
    model = _cascade()
    model.toy = ToyExitHead(10)
    model.train_part = 'toy'
    model.train()
    assert model.toy.training and not model.saver.training and not model.base.training
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith('toy.')}
    toy_before = model.toy.fc.weight.clone()
    g = torch.Generator().manual_seed(0)
    raw = torch.randint(0, 256, (16, 1, 8, 8), generator=g, dtype=torch.uint8)
    samples = [DataSample().set_gt_label(int(i) % 10) for i in range(16)]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = model(raw, samples, mode='loss')['loss_toy']
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert not torch.equal(model.toy.fc.weight, toy_before)
    for k, v in model.state_dict().items():
        if not k.startswith('toy.'):
            assert torch.equal(v, frozen[k]), k
    assert all(p.grad is None for r in model.stage_names for p in getattr(model, r).parameters())


def test_loss_without_a_trainable_part_says_how_to_train():
    with pytest.raises(NotImplementedError, match='tools/train.py'):
        _cascade().loss(torch.zeros(1, 1, 8, 8), None)


def test_tensor_mode_and_features_are_delegated_or_routed():
    model = _cascade()
    raw = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    x = model.base.data_preprocessor({'inputs': raw}, False)['inputs']
    assert torch.equal(model.extract_feat(raw)[0], model.base.extract_feat(x)[0])
