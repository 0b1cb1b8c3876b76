"""The segmentation cascade under ONNX Runtime (issue 25 case 7), and the ESN's refusal.

Whole mode (the embedded demo) and slide mode (mmseg's own slide inference over
the exported graph) against eager PyTorch: the same routing (zero flips), the
same masks and the same mIoU by mmseg's IoUMetric.
"""
import copy
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmseg')
pytest.importorskip('onnxruntime')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'configs', 'fmnist_seg', 'tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py')


@pytest.fixture(autouse=True)
def keep_default_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    if not osp.isdir(osp.join(ROOT, 'data', 'fmnist_seg', 'val')):
        pytest.skip('the segmentation set is not built (bash tools/make_fmnist_seg.sh)')
    from tinysaver_mm.apis.deploy import deploy
    out = tmp_path_factory.mktemp('seg') / 'deploy'
    return out, deploy(CFG, str(out))


def test_manifest_binds_files_weights_and_preprocessing(exported):
    out, manifest = exported
    assert manifest['task'] == 'segmentation' and sorted(manifest['stages']) == ['base', 'saver']
    saver = manifest['stages']['saver']
    assert len(saver['sha256']) == 64 and len(saver['fingerprint']) == 64
    assert saver['test_cfg']['mode'] == 'whole' and saver['preprocess']['mean'] is not None
    assert saver['settings']['data_preprocessor.mean'] == saver['preprocess']['mean']
    assert 'slide' in manifest['in_python'] and 'evaluator' in manifest['in_python']
    assert json.load(open(osp.join(out, 'manifest.json'))) == manifest


def _compare(model, loader, deploy_dir, limit=None):
    """Eager vs ONNX Runtime on the same batches: flips, mask differences, both mIoUs."""
    from mmseg.evaluation import IoUMetric
    metrics = {b: IoUMetric(iou_metrics=['mIoU']) for b in ('pytorch', 'onnxruntime')}
    for m in metrics.values():
        m.dataset_meta = dict(classes=list(range(model.num_classes)))
    flips = pixels = images = 0
    for batch in loader:
        out = {}
        for backend in metrics:
            model.use_backend(backend, None if backend == 'pytorch' else str(deploy_dir))
            out[backend] = model.test_step(copy.deepcopy(batch))
            metrics[backend].process(batch, [ds.to_dict() for ds in out[backend]])
        for a, b in zip(out['pytorch'], out['onnxruntime']):
            flips += a.answered_by != b.answered_by
            pixels += int((a.pred_sem_seg.data != b.pred_sem_seg.data).sum())
            assert a.exit_score == pytest.approx(b.exit_score, abs=1e-4)
            images += 1
        if limit is not None and images >= limit:
            break
    mious = {b: m.evaluate(images)['mIoU'] for b, m in metrics.items()}
    return flips, pixels, images, mious


def _loader(cfg, batch_size=16):
    from mmengine.runner import Runner
    return Runner.build_dataloader(dict(cfg.test_dataloader, batch_size=batch_size,
                                        num_workers=0, persistent_workers=False))


def test_onnxruntime_segmentation_cascade_equals_pytorch_on_val_images(exported):
    from tinysaver_mm.apis import init_cascade
    model = init_cascade(CFG)
    cfg = model.cfg
    flips, pixels, images, mious = _compare(model, _loader(cfg), exported[0], limit=48)
    assert images == 48 and flips == 0 and pixels == 0
    assert mious['onnxruntime'] == mious['pytorch']


@pytest.mark.slow
def test_onnxruntime_segmentation_cascade_equals_pytorch_on_the_whole_val_set(exported):
    from tinysaver_mm.apis import init_cascade
    model = init_cascade(CFG)
    cfg = model.cfg
    loader = _loader(cfg)
    flips, pixels, images, mious = _compare(model, loader, exported[0])
    assert images == len(loader.dataset) and flips == 0 and pixels == 0
    assert mious['onnxruntime'] == mious['pytorch']


def test_slide_mode_runs_mmsegs_slide_inference_over_the_exported_graph(tmp_path):
    """Random-weight stages in slide mode (crops of 32 with stride 24 on 48x64 images)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    import tinysaver_mm.models.segmentors  # noqa: F401
    from tinysaver_mm.apis.deploy import export_seg_cascade
    from tinysaver_mm.testing.seg_stages import fcn_cfg, seg_batch
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(type='TinySaverSegmentor', saver=fcn_cfg(4, mode='slide'),
                                  base=fcn_cfg(8, mode='slide', mean=100.0, std=50.0),
                                  threshold=0.5, exit_rule='mean_max_prob')).eval()
    inputs, samples = seg_batch(8)
    calls = []
    handle = model.saver.backbone.register_forward_pre_hook(lambda m, a: calls.append(1))
    scores = model.predict(inputs, copy.deepcopy(samples))
    model.threshold = float(torch.tensor([ds.exit_score for ds in scores]).median())
    ref = model.predict(inputs, copy.deepcopy(samples))
    assert 0 < sum(ds.exited for ds in ref) < len(ref)
    manifest = export_seg_cascade(model, str(tmp_path), [3, 48, 64])
    assert manifest['stages']['saver']['test_cfg']['mode'] == 'slide'
    model.use_backend('onnxruntime', str(tmp_path))
    eager_calls = len(calls)
    assert eager_calls > 0
    got = model.predict(inputs, copy.deepcopy(samples))
    assert len(calls) == eager_calls  # the PyTorch saver's backbone did not run: the graph did
    for a, b in zip(ref, got):
        assert a.answered_by == b.answered_by
        assert a.exit_score == pytest.approx(b.exit_score, abs=1e-5)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
        assert torch.allclose(a.seg_logits.data, b.seg_logits.data, atol=1e-4)
    handle.remove()


@pytest.mark.slow
def test_tools_deploy_py_and_test_py_on_the_segmentation_demo(tmp_path):
    """The CLI path: tools/deploy.py SEG_CFG, then tools/test.py with the backend: the same
    figures as eager on the first val images."""
    if not osp.isdir(osp.join(ROOT, 'data', 'fmnist_seg', 'val')):
        pytest.skip('the segmentation set is not built (bash tools/make_fmnist_seg.sh)')
    out = str(tmp_path / 'deploy')
    proc = subprocess.run([sys.executable, 'tools/deploy.py', CFG, out], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'manifest:' in proc.stdout
    figures = {}
    for backend in ('pytorch', 'onnxruntime'):
        wd = str(tmp_path / backend)
        opts = ['test_dataloader.dataset.indices=64', 'test_dataloader.num_workers=0',
                'test_dataloader.persistent_workers=False', f'model.backend={backend}']
        if backend == 'onnxruntime':
            opts.append(f'model.deploy_dir={out}')
        proc = subprocess.run([sys.executable, 'tools/test.py', CFG, '--work-dir', wd,
                               '--cfg-options', *opts], cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        import glob
        last = open(sorted(glob.glob(osp.join(wd, '*', '*.json')))[-1]).read().splitlines()[-1]
        figures[backend] = {k: v for k, v in json.loads(last).items()
                            if k.startswith(('mIoU', 'tinysaver/'))}
    assert figures['pytorch'] and figures['onnxruntime'] == figures['pytorch']


def test_the_esn_refuses_the_onnxruntime_backend_by_name():
    pytest.importorskip('mmpretrain')
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    from tinysaver_mm.testing.esn_stages import esn_cfg
    import tinysaver_mm.models.classifiers  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'), \
            pytest.raises(ValueError, match=r"TinySaverESN\(backend='onnxruntime'.*PyTorch "
                                            r'only.*one graph per base stage'):
        MODELS.build(dict(esn_cfg([0.5, 1.5, 1.5]), backend='onnxruntime', deploy_dir='x'))
