"""A calibration (evaluator head, calibration JSON) is bound to the saver's settings.

Issue 25 case 9: the saver's post-processing and preprocessing shape every
exit input; a calibration records them, and a cascade whose saver runs with
other settings is refused, naming the changed key.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
CLS_CFG = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
CLS_EVALUATOR = osp.join(ROOT, 'checkpoints', 'fashion_mnist', 'evaluator_resnet18-w4s2_fmnist.pth')


@pytest.fixture(autouse=True)
def keep_default_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


def _build_cfg(cfg):
    from mmengine.registry import init_default_scope
    from tinysaver_mm.utils import model_cfg_of
    scope = cfg.get('default_scope')
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    return registry.build(model_cfg_of(cfg))


def test_the_shipped_detection_cascade_builds_and_its_overridden_score_thr_is_refused():
    pytest.importorskip('mmdet')
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CFG)
    model = _build_cfg(cfg)  # the shipped evaluator records no settings: its config's
    assert model.exit_settings['saver']['test_cfg.score_thr'] == 0.001
    cfg.merge_from_dict({'model.saver.test_cfg.score_thr': 0.3})
    with pytest.raises(ValueError) as err:
        _build_cfg(cfg)
    msg = str(err.value)
    assert 'model.saver.test_cfg.score_thr: 0.001 -> 0.3' in msg
    assert 'evaluator_rtmdet-w125_96px_fmnist-det.pth' in msg
    assert 'tools/record.py' in msg and 'tools/train_evaluator.py' in msg


@pytest.mark.slow
def test_host_tools_test_py_refuses_the_score_thr_override(tmp_path):
    """mmdet's own tools/test.py with the issue's --cfg-options: refused, by name."""
    mmdet = pytest.importorskip('mmdet')
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    proc = subprocess.run([sys.executable, tool, DET_CFG, str(tmp_path / 'none.pth'),
                           '--work-dir', str(tmp_path), '--cfg-options',
                           'model.saver.test_cfg.score_thr=0.3'],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'model.saver.test_cfg.score_thr: 0.001 -> 0.3' in proc.stderr
    assert 'Traceback' in proc.stderr and 'TypeError' not in proc.stderr.splitlines()[-1]


def test_recorded_settings_bind_the_evaluator(tmp_path):
    """An evaluator checkpoint recording the settings it was fitted with: the same
    settings build, another NMS threshold is refused."""
    pytest.importorskip('mmdet')
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CFG)
    model = _build_cfg(cfg)
    ckpt = torch.load(cfg.model.evaluator.checkpoint, weights_only=True)
    settings = dict(model.exit_settings['saver'], **{'test_cfg.nms.iou_threshold': 0.5})
    path = str(tmp_path / 'evaluator.pth')
    torch.save(dict(ckpt, meta=dict(ckpt['meta'], saver_settings=settings)), path)
    cfg.merge_from_dict({'model.evaluator.checkpoint': path})
    with pytest.raises(ValueError, match=r'test_cfg\.nms\.iou_threshold: 0\.5 -> 0\.65'):
        _build_cfg(cfg)
    cfg.merge_from_dict({'model.saver.test_cfg.nms.iou_threshold': 0.5})
    assert _build_cfg(cfg).exit_settings['saver']['test_cfg.nms.iou_threshold'] == 0.5


def test_a_classification_savers_changed_normalisation_is_refused(tmp_path):
    """The learned evaluator of the Fashion-MNIST saver, and a calibration JSON."""
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    head = torch.load(CLS_EVALUATOR, weights_only=True)['meta']['head_cfg']
    cfg = Config.fromfile(CLS_CFG)
    cfg.merge_from_dict({'model.evaluator': dict(head, checkpoint=CLS_EVALUATOR),
                         'model.exit_rule': 'evaluator', 'model.threshold': None})
    model = _build_cfg(cfg)
    mean = model.exit_settings['saver']['data_preprocessor.mean']
    changed = {'model.saver.data_preprocessor.mean': [m + 10 for m in mean]}
    bad = cfg.copy()
    bad.merge_from_dict(changed)
    with pytest.raises(ValueError, match=r'model\.saver\.data_preprocessor\.mean: '):
        _build_cfg(bad)
    # a calibration JSON recording its settings: the same mean builds, another is refused
    cal = tmp_path / 'cal.json'
    cal.write_text(json.dumps(dict(threshold=0.8, rule='max_prob',
                                   saver_settings=model.exit_settings['saver'])))
    plain = Config.fromfile(CLS_CFG)
    plain.merge_from_dict({'model.threshold': str(cal)})
    assert _build_cfg(plain).threshold == 0.8
    plain.merge_from_dict(changed)
    with pytest.raises(ValueError, match=rf'The calibration .*cal.json.*data_preprocessor\.mean'):
        _build_cfg(plain)


def test_a_number_threshold_announces_changed_settings():
    """A number records nothing: the stage override runs, with a warning naming it."""
    import logging
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    cfg = Config.fromfile(CLS_CFG)
    cfg.merge_from_dict({'model.saver.data_preprocessor.mean': [0.0]})
    seen = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        _build_cfg(cfg)
    finally:
        logger.removeHandler(handler)
    out = '\n'.join(seen)
    assert 'model.saver.data_preprocessor.mean: [72.94] -> [0.0]' in out
    assert 'is a number' in out


def test_new_calibrations_record_the_savers_settings(tmp_path):
    """tools/record.py writes them into the records, tools/calibrate.py into its JSON,
    and a cascade with that JSON refuses another saver normalisation."""
    pytest.importorskip('mmpretrain')
    if not osp.exists(osp.join(ROOT, 'data', 'fashion_mnist')):
        pytest.skip('data/fashion_mnist missing (bash tools/install.sh)')
    from mmengine.config import Config
    from tinysaver_mm.apis.calibrate import calibrate
    from tinysaver_mm.apis.records import load_records, record
    from tinysaver_mm.testing.cls_records import pair
    from tinysaver_mm.utils import exit_input_settings, model_cfg_of
    saver_cfg = osp.join(ROOT, 'configs', 'fashion_mnist', 'resnet18-w4s2_fmnist.py')
    cfg = Config.fromfile(saver_cfg)
    cfg.merge_from_dict({'test_dataloader.dataset.indices': 8, 'test_dataloader.num_workers': 0,
                         'test_dataloader.persistent_workers': False})
    [path] = record(cfg, None, 'test', out_dir=str(tmp_path), config_path=saver_cfg)
    settings = load_records(path)['meta']['settings']
    assert settings == exit_input_settings(model_cfg_of(cfg))
    assert settings['data_preprocessor.mean'] == [72.94]
    saver, base = pair(tmp_path, saver_meta=dict(settings=settings, test_pipeline={}))
    out = str(tmp_path / 'cal.json')
    result = calibrate(saver, base, 'exit', exit_ratio=0.5, out=out)
    assert result['saver_settings'] == settings
    assert load_records(path)['meta']['test_pipeline'] == {}  # PackInputs only
    cascade = Config.fromfile(CLS_CFG)
    cascade.merge_from_dict({'model.threshold': out})
    model = _build_cfg(cascade)
    model.check_test_pipeline(cascade.test_dataloader.dataset.pipeline)  # the recorded one
    with pytest.raises(ValueError, match=r"test_dataloader\.dataset\.pipeline\.0\.Resize\.scale: "
                                         r"'<unset>' -> \[32, 32\]"):
        model.check_test_pipeline([dict(type='Resize', scale=(32, 32)), dict(type='PackInputs')])
    cascade.merge_from_dict({'model.saver.data_preprocessor.std': [1.0]})
    with pytest.raises(ValueError, match=r'data_preprocessor\.std: \[\d+\.\d+\] -> \[1\.0\]'):
        _build_cfg(cascade)


def _det_evaluator_recording_the_pipeline(tmp_path):
    """The shipped detection evaluator, with the settings and test pipeline it was
    fitted with recorded (as tools/train_evaluator.py now writes them)."""
    from mmengine.config import Config
    from tinysaver_mm.utils import pipeline_settings
    cfg = Config.fromfile(DET_CFG)
    model = _build_cfg(cfg)
    ckpt = torch.load(cfg.model.evaluator.checkpoint, weights_only=True)
    meta = dict(ckpt['meta'], saver_settings=model.exit_settings['saver'],
                test_pipeline=pipeline_settings(cfg.test_dataloader.dataset.pipeline))
    path = str(tmp_path / 'evaluator.pth')
    torch.save(dict(ckpt, meta=meta), path)
    return path


@pytest.mark.slow
def test_host_test_py_refuses_another_test_pipeline_resize(tmp_path):
    """mmdet's own tools/test.py: the evaluator recorded the 128x128 test resize; a
    112x112 one is refused before any image is evaluated (by TinySaverMACsHook)."""
    mmdet = pytest.importorskip('mmdet')
    if not osp.exists(osp.join(ROOT, 'data', 'fmnist_det', 'annotations')):
        pytest.skip('data/fmnist_det missing (bash tools/make_fmnist_det.sh)')
    from tinysaver_mm.apis import merge_cascade
    evaluator = _det_evaluator_recording_the_pipeline(tmp_path)
    ckpt = str(tmp_path / 'cascade.pth')
    merge_cascade(DET_CFG, ckpt)
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    proc = subprocess.run([sys.executable, tool, DET_CFG, ckpt, '--work-dir', str(tmp_path),
                           '--cfg-options', f'model.evaluator.checkpoint={evaluator}',
                           'test_dataloader.dataset.pipeline.1.scale=(112,112)',
                           'test_dataloader.num_workers=0',
                           'test_dataloader.persistent_workers=False'],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert 'test_dataloader.dataset.pipeline.1.Resize.scale: [128, 128] -> [112, 112]' in last
    assert 'Epoch(test)' not in proc.stdout + proc.stderr


def test_the_recorded_test_pipeline_is_checked_by_the_cascade(tmp_path):
    pytest.importorskip('mmdet')
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CFG)
    cfg.merge_from_dict({'model.evaluator.checkpoint': _det_evaluator_recording_the_pipeline(
        tmp_path)})
    model = _build_cfg(cfg)
    pipeline = cfg.test_dataloader.dataset.pipeline
    model.check_test_pipeline(pipeline)
    changed = [dict(t, scale=(112, 112)) if t['type'] == 'Resize' else t for t in pipeline]
    with pytest.raises(ValueError, match=r'pipeline\.1\.Resize\.scale: \[128, 128\] -> '
                                         r'\[112, 112\].*tools/train_evaluator\.py'):
        model.check_test_pipeline(changed)
