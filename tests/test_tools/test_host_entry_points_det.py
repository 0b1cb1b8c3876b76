"""mmdet's own entry points on the detection cascade (issue 25, cases 2, 3 and 6).

Driven through mmdet's tool script (``tools/test.py``), its API
(``init_detector``) and its benchmark's model set-up (build, load the whole
checkpoint, ``fuse_conv_bn``, as ``mmdet/utils/benchmark.py`` does), checked against this project's
``tools/test.py`` on the same images.
"""
import json
import sys

import pytest
import torch

pytest.importorskip('mmdet')

from host_entry_helpers import (DET_CFG, NO_WORKERS, ROOT, host_tool, json_metrics,  # noqa: E402
                                keep_default_scope, merged_checkpoint, need_data, run)  # noqa: F401

N_IMAGES = 24


@pytest.fixture(scope='module')
def det_ckpt(tmp_path_factory):
    return merged_checkpoint(DET_CFG, tmp_path_factory)


@pytest.fixture(scope='module')
def subset(tmp_path_factory):
    """cfg-options evaluating the detection cascade on the first val images only."""
    need_data('fmnist_det/annotations/instances_val.json')
    coco = json.load(open(f'{ROOT}/data/fmnist_det/annotations/instances_val.json'))
    images = coco['images'][:N_IMAGES]
    ids = {im['id'] for im in images}
    sub = dict(coco, images=images,
               annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    path = str(tmp_path_factory.mktemp('ann') / f'val{N_IMAGES}.json')
    json.dump(sub, open(path, 'w'))
    return [f'test_dataloader.dataset.ann_file={path}', f'test_evaluator.0.ann_file={path}'
            ] + NO_WORKERS


@pytest.fixture(scope='module')
def reference(subset, tmp_path_factory):
    """This project's tools/test.py on the subset."""
    wd = str(tmp_path_factory.mktemp('ref_det'))
    proc = run(sys.executable, 'tools/test.py', DET_CFG, '--work-dir', wd,
               '--cfg-options', *subset)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json_metrics(wd)


def test_whole_checkpoint_and_init_detector_carry_the_stages_palette(det_ckpt):
    """Case 2 (detection): classes and palette in the checkpoint and in init_detector's model."""
    from mmdet.apis import init_detector
    from mmengine.config import Config
    from tinysaver_mm.utils import load_checkpoint_file
    cfg = Config.fromfile(DET_CFG)
    stage = load_checkpoint_file(cfg.model.base.checkpoint)['meta']['dataset_meta']
    path, meta = det_ckpt
    assert [tuple(c) for c in meta['dataset_meta']['palette']] == \
        [tuple(c) for c in stage['palette']]
    model = init_detector(DET_CFG, path, device='cpu')
    assert tuple(model.dataset_meta['classes']) == tuple(stage['classes'])
    assert [tuple(c) for c in model.dataset_meta['palette']] == [tuple(c) for c in stage['palette']]
    # a tool setting other classes (mmdet without a checkpoint: COCO's) keeps both the stages'
    model.dataset_meta = dict(classes=('a', 'b'), palette=[(1, 2, 3), (4, 5, 6)])
    assert [tuple(c) for c in model.dataset_meta['palette']] == [tuple(c) for c in stage['palette']]


def test_mmdet_test_py_model_test_cfg_names_the_stage_override(det_ckpt, subset):
    """Case 3: --cfg-options model.test_cfg.score_thr=0.3 is refused naming the stage override."""
    proc = run(sys.executable, host_tool('mmdet', 'test.py'), DET_CFG, det_ckpt[0],
               '--cfg-options', 'model.test_cfg.score_thr=0.3', *subset, timeout=300)
    assert proc.returncode != 0
    assert "model.test_cfg={'score_thr': 0.3}: TinySaverDetector has no test_cfg" in proc.stderr
    assert 'model.base.test_cfg.score_thr=0.3' in proc.stderr
    assert 'model.saver.test_cfg.score_thr=0.3' in proc.stderr and 'calibrate' in proc.stderr
    assert 'unexpected keyword argument' not in proc.stderr


def _benchmark_model(checkpoint: str):
    """The model set-up of mmdet's benchmark (``mmdet/utils/benchmark.py``,
    ``InferenceBenchmark._init_model``: ``MODELS.build(cfg.model)``,
    ``load_checkpoint(model, checkpoint, map_location='cpu')``,
    ``fuse_conv_bn(model)``), with the same host functions in the same order
    (the script itself needs psutil and CUDA)."""
    from mmcv.cnn import fuse_conv_bn
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(DET_CFG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return fuse_conv_bn(model).eval()


def test_fuse_conv_bn_says_what_folding_changed(det_ckpt, subset):
    """Case 6: mmdet's benchmark set-up folds BatchNorm into the RTMDet stages; mmcv folds
    RTMDet's shared head convs once per level's BatchNorm, which changes the saver's scores,
    so the evaluator's binding is refused naming that, not "another saver"."""
    import copy
    from mmcv.cnn import fuse_conv_bn
    from mmengine.config import Config, DictAction
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    model = _benchmark_model(det_ckpt[0])
    bn = torch.nn.modules.batchnorm._BatchNorm
    assert not any(isinstance(m, bn) for m in model.modules())  # really fused
    cfg = Config.fromfile(DET_CFG)
    cfg.merge_from_dict({k: DictAction._parse_iterable(v)
                         for k, v in (o.split('=', 1) for o in subset)})
    with DefaultScope.overwrite_default_scope('mmdet'):
        batch = next(iter(Runner.build_dataloader(cfg.test_dataloader)))
        with pytest.raises(ValueError, match=r'(?s)saver\'s BatchNorm was folded.*outputs change '
                                             r'by up to [0-9.]+ %.*share_conv.*run without '
                                             r'--fuse-conv-bn'):
            model.test_step(batch)
    # independently: folding really changes the saver's outputs on a real image
    from tinysaver_mm.apis import init_cascade
    alone = init_cascade(cfg)
    x, samples = alone.stage_inputs('saver', batch['inputs'][:1], batch['data_samples'][:1])
    own = alone.saver._forward(x, samples)[0][0]
    folded = fuse_conv_bn(copy.deepcopy(alone.saver))._forward(x, samples)[0][0]
    assert (own - folded).abs().max() > 1e-2 * own.abs().max()
    # fused weights that are not the saver's: the other message, with the fix for fusion
    with torch.no_grad():
        next(model.saver.parameters()).add_(0.01)
    model._fingerprints_checked = False
    with pytest.raises(ValueError, match=r'(?s)trained for another saver.*no BatchNorm layers'
                                         r'.*after the cascade has loaded its weights'):
        model.ensure_fingerprints()
