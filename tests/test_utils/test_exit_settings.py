"""exit_input_settings / settings_changes / check_fitted_settings, against hand-built values."""
import pytest

from tinysaver_mm.utils import check_fitted_settings, exit_input_settings, settings_changes


def _cfg(score_thr=0.001, mean=(30.0, 30.0, 30.0)):
    return dict(type='RTMDet', backbone=dict(type='CSPNeXt'),
                data_preprocessor=dict(type='DetDataPreprocessor', mean=list(mean),
                                       std=[60.0] * 3, bgr_to_rgb=False, pad_size_divisor=32),
                test_cfg=dict(score_thr=score_thr, nms=dict(type='nms', iou_threshold=0.65),
                              max_per_img=100))


def test_settings_are_the_test_cfg_preprocessor_and_pipeline_flattened():
    got = exit_input_settings(_cfg(), [dict(type='Resize', scale=(96, 96), keep_ratio=True)])
    assert got == {
        'test_cfg.score_thr': 0.001, 'test_cfg.nms.type': 'nms', 'test_cfg.nms.iou_threshold': 0.65,
        'test_cfg.max_per_img': 100, 'data_preprocessor.type': 'DetDataPreprocessor',
        'data_preprocessor.mean': [30.0] * 3, 'data_preprocessor.std': [60.0] * 3,
        'data_preprocessor.bgr_to_rgb': False, 'data_preprocessor.pad_size_divisor': 32,
        'pipeline': [dict(type='Resize', scale=[96, 96], keep_ratio=True)]}
    assert 'backbone.type' not in got  # weights/architecture are the fingerprints' part


def test_changes_name_each_key_with_both_values():
    a = exit_input_settings(_cfg())
    b = exit_input_settings(_cfg(score_thr=0.3, mean=(0, 0, 0)))
    assert settings_changes(a, b) == [('data_preprocessor.mean', [30.0] * 3, [0, 0, 0]),
                                      ('test_cfg.score_thr', 0.001, 0.3)]
    assert settings_changes(a, dict(a)) == []
    del b['test_cfg.max_per_img']
    assert ('test_cfg.max_per_img', 100, '<unset>') in settings_changes(a, b)


def test_check_refuses_naming_the_key_old_to_new_and_the_fix():
    a = exit_input_settings(_cfg())
    check_fitted_settings(a, exit_input_settings(_cfg()), 'X', 'saver', 'FIX')  # same: fine
    with pytest.raises(ValueError) as err:
        check_fitted_settings(a, exit_input_settings(_cfg(score_thr=0.3)), "The evaluator ('e.pth')",
                              'saver', 'run FIX')
    msg = str(err.value)
    assert "model.saver.test_cfg.score_thr: 0.001 -> 0.3" in msg
    assert msg.startswith("The evaluator ('e.pth')") and msg.endswith('run FIX')


def test_pipeline_settings_keep_the_steps_that_size_the_input():
    from tinysaver_mm.utils import pipeline_settings
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(128, 128),
                                                     keep_ratio=True),
                dict(type='CenterCrop', crop_size=112), dict(type='LoadAnnotations'),
                dict(type='PackDetInputs', meta_keys=('img_id', ))]
    assert pipeline_settings(pipeline) == {'1.Resize.scale': [128, 128],
                                           '1.Resize.keep_ratio': True,
                                           '2.CenterCrop.crop_size': 112}
    assert pipeline_settings([dict(type='PackInputs')]) == {}
    assert pipeline_settings(None) == {}
