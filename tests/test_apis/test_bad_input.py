"""Bad input gets a clear error naming the value and the fix."""
import pytest
import torch

from tinysaver_mm.testing import stage_cfg


def build(**kw):
    from mmpretrain.registry import MODELS
    cfg = dict(type='TinySaverClassifier', saver=stage_cfg(channels=2),
               base=stage_cfg(channels=8), threshold=0.5)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_different_class_counts():
    with pytest.raises(ValueError, match=r"same classes.*num_classes \{'saver': 10, 'base': 5\}"):
        build(base=stage_cfg(channels=8, num_classes=5))


def test_multi_label_head():
    head = dict(type='MultiLabelLinearClsHead', num_classes=10, in_channels=32)
    with pytest.raises(ValueError, match='multi-label.*MultiLabelLinearClsHead.*LinearClsHead'):
        build(saver=stage_cfg(channels=2, head=head))


@pytest.mark.parametrize('bad', [-0.5, 1.01, 7])
def test_threshold_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=f'threshold={bad}'):
        build(threshold=bad)
    model = build()
    with pytest.raises(ValueError, match=f'threshold={bad}'):
        model.threshold = bad


def test_unknown_exit_rule():
    with pytest.raises(ValueError, match="exit_rule='top5'"):
        build(exit_rule='top5')


def test_missing_checkpoint(tmp_path):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth.*does not exist'):
        build(saver=dict(stage_cfg(channels=2), checkpoint=path))


def test_checkpoint_with_wrong_keys_is_refused_and_nothing_loaded(tmp_path):
    from mmpretrain.registry import MODELS
    other = MODELS.build(stage_cfg(channels=8))     # a base's weights ...
    path = str(tmp_path / 'base.pth')
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(ValueError, match='(?s)base.pth.*shape mismatches'):
        build(saver=dict(stage_cfg(channels=2), checkpoint=path))  # ... for the saver
    renamed = {'model.' + k: v for k, v in other.state_dict().items()}
    torch.save(renamed, path)
    with pytest.raises(ValueError, match='(?s)missing keys.*unexpected keys'):
        build(base=dict(stage_cfg(channels=8), checkpoint=path))


def test_matching_checkpoint_loads_every_weight(tmp_path):
    from mmpretrain.registry import MODELS
    torch.manual_seed(3)
    trained = MODELS.build(stage_cfg(channels=2))
    path = str(tmp_path / 'saver.pth')
    torch.save({'state_dict': trained.state_dict(), 'meta': {}}, path)
    model = build(saver=dict(stage_cfg(channels=2), checkpoint=path))
    for k, v in trained.state_dict().items():
        assert torch.equal(model.saver.state_dict()[k], v)


def test_stage_spec_without_cfg_path_or_type():
    with pytest.raises(ValueError, match='saver needs cfg_path'):
        build(saver=dict(checkpoint='x.pth'))


def test_unknown_key_in_stage_config_is_not_ignored():
    with pytest.raises(TypeError, match='no_such_key'):
        build(saver=dict(stage_cfg(channels=2), no_such_key=1))


def test_empty_dataset(tmp_path):
    from tinysaver_mm.apis import check_nonempty
    with pytest.raises(ValueError, match='test dataset .* is empty'):
        check_nonempty([], 'test')
