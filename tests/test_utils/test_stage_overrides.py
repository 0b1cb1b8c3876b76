"""Stage specs: cfg_path overrides really reach the built model; typos and clashes are refused."""
import pytest
import torch

from tinysaver_mm.utils import apply_overrides, resolve_stage_spec

SAVER = 'configs/fashion_mnist/resnet18-w4s2_fmnist.py'
BASE = 'configs/fashion_mnist/resnet18-w16_fmnist.py'


def _cls(**saver):
    from mmpretrain.registry import MODELS
    return MODELS.build(dict(type='TinySaverClassifier', saver=dict(cfg_path=SAVER, **saver),
                             base=dict(cfg_path=BASE), threshold=0.5))


def test_classifier_override_is_applied_to_the_built_module():
    model = _cls(backbone=dict(base_channels=8, stem_channels=8), head=dict(in_channels=64))
    assert model.saver.backbone.conv1.out_channels == 8       # read back from the module
    assert model.saver.head.fc.in_features == 64
    assert model.saver.backbone.strides == (2, 2, 2, 2)       # untouched keys kept
    probs = model.stage_probs('saver', torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    assert probs.shape == (2, 10)


@pytest.mark.parametrize('override, name', [
    (dict(backbone=dict(depht=18)), 'model.backbone.depht'),
    (dict(bakbone=dict(depth=18)), 'model.bakbone'),
    (dict(head=dict(loss=dict(weight=2.0))), 'model.head.loss.weight'),
])
def test_unknown_override_keys_are_refused_by_name(override, name):
    with pytest.raises(KeyError, match=name.replace('.', r'\.')):
        _cls(**override)


def test_new_keys_on_purpose_and_whole_dict_replacement():
    cfg, _ = resolve_stage_spec(dict(cfg_path=SAVER, backbone=dict(_add_=True, frozen_stages=1)),
                                'saver')
    assert cfg.backbone.frozen_stages == 1 and cfg.backbone.depth == 18
    cfg, _ = resolve_stage_spec(dict(cfg_path=SAVER, neck=dict(_delete_=True, type='GlobalAveragePooling', dim=2)),
                                'saver')
    assert dict(cfg.neck) == dict(type='GlobalAveragePooling', dim=2)
    target = dict(a=dict(b=1, c=2))
    apply_overrides(target, dict(a=dict(b=5)), 'x')
    assert target == dict(a=dict(b=5, c=2))


def test_cfg_path_with_a_full_model_type_is_refused():
    with pytest.raises(ValueError, match='both cfg_path=.*and type='):
        resolve_stage_spec(dict(cfg_path=SAVER, type='ImageClassifier'), 'saver')


def test_detector_override_is_applied_to_the_built_module():
    pytest.importorskip('mmdet')
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    det = 'configs/fmnist_det/rtmdet-w125_96px_fmnist-det.py'
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(dict(
            type='TinySaverDetector', threshold=0.5, exit_rule='max_score',
            saver=dict(cfg_path=det, test_cfg=dict(max_per_img=7, score_thr=0.2)),
            base=dict(cfg_path='configs/fmnist_det/rtmdet-w375_128px_fmnist-det.py')))
        assert model.saver.bbox_head.test_cfg.max_per_img == 7
        assert model.saver.bbox_head.test_cfg.score_thr == 0.2
        with pytest.raises(KeyError, match=r'model\.test_cfg\.max_per_image'):
            MODELS.build(dict(type='TinySaverDetector', threshold=0.5, exit_rule='max_score',
                              saver=dict(cfg_path=det, test_cfg=dict(max_per_image=7)),
                              base=dict(cfg_path=det)))


def test_a_stage_of_another_task_is_refused_by_name():
    pytest.importorskip('mmdet')
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'), \
            pytest.raises(KeyError, match=r"saver \(type='ImageClassifier'\).*mmdet.*classifier config"):
        MODELS.build(dict(type='TinySaverDetector', threshold=0.5, exit_rule='max_score',
                          saver=dict(cfg_path=SAVER),
                          base=dict(cfg_path='configs/fmnist_det/rtmdet-w375_128px_fmnist-det.py')))
