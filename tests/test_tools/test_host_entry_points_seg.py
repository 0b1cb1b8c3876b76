"""mmseg's own entry points on the segmentation cascade (issue 25, cases 1, 2, 5 and 6).

Each test drives mmseg's function or its shipped tool script (``init_model``,
``inference_model``, ``show_result_pyplot``, ``MMSegInferencer``,
``tools/test.py --out DIR``, ``tools/analysis_tools/benchmark.py``, mmcv's
``fuse_conv_bn``) with one
whole-cascade checkpoint (``tools/merge_cascade.py``) and checks its masks
and metrics against this project's ``tools/test.py`` on the same images.
"""
import glob
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')

from host_entry_helpers import (NO_WORKERS, ROOT, SEG_CFG, host_tool, json_metrics,  # noqa: E402
                                keep_default_scope, merged_checkpoint, need_data, run)  # noqa: F401

N_IMAGES = 24
SUBSET = [f'test_dataloader.dataset.indices={N_IMAGES}'] + NO_WORKERS


@pytest.fixture(scope='module')
def seg_ckpt(tmp_path_factory):
    return merged_checkpoint(SEG_CFG, tmp_path_factory)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """This project's tools/test.py on the first val canvases: metrics and masks."""
    need_data('fmnist_seg/val/img')
    wd = tmp_path_factory.mktemp('ref_seg')
    out = str(wd / 'preds.pkl')
    proc = run(sys.executable, 'tools/test.py', SEG_CFG, '--work-dir', wd, '--out', out,
               '--cfg-options', *SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    preds = pickle.load(open(out, 'rb'))
    masks = {osp.basename(p['img_path']): p['pred_sem_seg']['data'].numpy()[0] for p in preds}
    exited = {osp.basename(p['img_path']): p['exited'] for p in preds}
    assert len(masks) == N_IMAGES
    return dict(metrics=json_metrics(str(wd)), masks=masks, exited=exited)


def _stage_palette():
    from mmengine.config import Config
    from tinysaver_mm.utils import load_checkpoint_file
    cfg = Config.fromfile(SEG_CFG)
    return load_checkpoint_file(cfg.model.base.checkpoint)['meta']['dataset_meta']['palette']


def test_merged_checkpoint_carries_the_stages_palette(seg_ckpt):
    """Case 2: dataset_meta of the cascade and of its whole checkpoint: classes and palette."""
    _, meta = seg_ckpt
    palette = _stage_palette()
    assert [list(c) for c in meta['dataset_meta']['palette']] == [list(c) for c in palette]
    assert len(meta['dataset_meta']['classes']) == len(palette) == 11


def test_init_model_inference_and_show_result_pyplot(seg_ckpt, reference, tmp_path):
    """Cases 1 and 2: mmseg's first API calls give the project's masks, and draw them."""
    from mmseg.apis import inference_model, init_model, show_result_pyplot
    model = init_model(SEG_CFG, seg_ckpt[0], device='cpu')  # sets model.pretrained = None
    assert type(model).__name__ == 'TinySaverSegmentor'
    assert [list(c) for c in model.dataset_meta['palette']] == \
        [list(c) for c in _stage_palette()]
    names = sorted(reference['masks'])[:4]
    for name in names:
        img = osp.join(ROOT, 'data/fmnist_seg/val/img', name)
        result = inference_model(model, img)
        assert np.array_equal(result.pred_sem_seg.data.numpy()[0], reference['masks'][name])
        assert result.exited == reference['exited'][name]
        out = str(tmp_path / f'vis_{name}')
        drawn = show_result_pyplot(model, img, result, show=False, out_file=out,
                                   with_labels=False, opacity=1.0)
        # opacity 1: each pixel is its predicted class's colour in the stages' palette
        palette = np.array(_stage_palette(), dtype=np.uint8)
        assert np.array_equal(drawn, palette[reference['masks'][name]])
        assert osp.isfile(out)
    # pretrained weights of its own (init_model always sets None): refused, naming where
    # the weights go
    from mmengine.config import Config
    from tinysaver_mm.apis import init_cascade
    cfg = Config.fromfile(SEG_CFG)
    cfg.model.pretrained = 'some.pth'
    with pytest.raises(ValueError, match=r"pretrained='some\.pth'.*checkpoint"):
        init_cascade(cfg)


def test_mmseg_inferencer_out_dir(seg_ckpt, reference, tmp_path):
    """Case 2: MMSegInferencer(out_dir=...) draws with the stages' palette."""
    from mmseg.apis import MMSegInferencer
    infer = MMSegInferencer(model=SEG_CFG, weights=seg_ckpt[0], device='cpu')
    names = sorted(reference['masks'])[:3]
    imgs = [osp.join(ROOT, 'data/fmnist_seg/val/img', n) for n in names]
    preds = infer(imgs, out_dir=str(tmp_path), return_datasamples=True)
    assert len(preds) == len(names)
    for name, pred in zip(names, preds):
        assert np.array_equal(pred.pred_sem_seg.data.numpy()[0], reference['masks'][name])
    assert sorted(os.listdir(tmp_path / 'vis')) == sorted(names)


@pytest.mark.slow
def test_mmseg_test_py_out_dir(seg_ckpt, reference, tmp_path):
    """Case 5: mmseg's tools/test.py --out DIR: the project's metrics, one mask PNG per image."""
    from PIL import Image
    wd, out = str(tmp_path / 'host'), str(tmp_path / 'masks')
    proc = run(sys.executable, host_tool('mmseg', 'test.py'), SEG_CFG, seg_ckpt[0],
               '--work-dir', wd, '--out', out, '--cfg-options', *SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    host = json_metrics(wd)
    assert host == pytest.approx(reference['metrics'])
    assert 'mIoU' in host and 'tinysaver/exit_ratio' in host
    written = sorted(os.listdir(out))
    assert written == sorted(reference['masks'])
    for name in written:
        assert np.array_equal(np.array(Image.open(osp.join(out, name))),
                              reference['masks'][name]), name


@pytest.mark.slow
def test_mmseg_benchmark_runs_the_cascade(seg_ckpt, tmp_path):
    """Case 1: mmseg's analysis_tools/benchmark.py builds (model.pretrained = None),
    loads the whole checkpoint and times the cascade's predictions."""
    need_data('fmnist_seg/val/img')
    proc = run(sys.executable, host_tool('mmseg', 'analysis_tools', 'benchmark.py'), SEG_CFG,
               seg_ckpt[0], '--work-dir', tmp_path, '--repeat-times', '1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Overall fps' in proc.stdout
    assert glob.glob(str(tmp_path / 'fps_*.json'))


def test_fuse_conv_bn_keeps_the_evaluators_binding(seg_ckpt, reference):
    """Case 6: BatchNorm folded after loading (as mmdet's benchmark --fuse-conv-bn does):
    the FCN saver computes the same function, so its evaluator stays bound, and the
    masks and routing are the project's tools/test.py's."""
    from mmcv.cnn import fuse_conv_bn
    from mmseg.apis import inference_model, init_model
    model = fuse_conv_bn(init_model(SEG_CFG, seg_ckpt[0], device='cpu'))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                   for m in model.saver.modules())
    model._fingerprints_checked = False  # as after any load: checked before the next predict
    from tinysaver_mm.utils import state_dict_fingerprint
    assert state_dict_fingerprint(model.saver) != model.evaluator.trained_for  # weights changed
    model.check_fingerprints()  # what predict runs first: still bound, nothing raised
    for name in sorted(reference['masks'])[:6]:
        result = inference_model(model, osp.join(ROOT, 'data/fmnist_seg/val/img', name))
        assert result.exited == reference['exited'][name]
        assert np.array_equal(result.pred_sem_seg.data.numpy()[0], reference['masks'][name])
