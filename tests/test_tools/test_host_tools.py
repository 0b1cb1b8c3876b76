"""The host libraries' own tools and APIs on the embedded cascades (issue 14).

Each test runs the host's own entry point (the scripts mmdet and mmpretrain ship
in their wheels under ``.mim/tools/``, ``mim``, or the host API) on the shipped
configs, and checks its result against an independent reference: this
project's ``tools/test.py`` on the same images, each stage alone, or
``TinySaverMACsHook``'s figures.
"""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('mmpretrain')

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CLS_CFG = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
DET_CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
FMNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                  'Sneaker', 'Bag', 'Ankle boot')
NO_WORKERS = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
CLS_SUBSET = ['test_dataloader.dataset.indices=300'] + NO_WORKERS


def _host_tool(lib: str, *parts: str) -> str:
    mod = __import__(lib)
    return osp.join(osp.dirname(mod.__file__), '.mim', 'tools', *parts)


def _run(*args, cwd=ROOT, timeout=600):
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _json_metrics(work_dir: str) -> dict:
    """The metrics mmengine's logger wrote for a test run (full precision)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics JSON in {work_dir}'
    metrics = json.loads(open(files[-1]).read().splitlines()[-1])
    return {k: v for k, v in metrics.items() if k not in ('data_time', 'time')}


def _need_data(*paths):
    for p in paths:
        if not osp.exists(osp.join(ROOT, 'data', p)):
            pytest.skip(f'data/{p} missing (bash tools/install.sh; bash tools/make_fmnist_det.sh)')


@pytest.fixture(autouse=True)
def keep_default_scope():
    """Host APIs (init_detector, DetInferencer) set mmengine's default scope for good;
    other test files build in their own scope."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


@pytest.fixture(scope='module')
def cls_ckpt(tmp_path_factory):
    from tinysaver_mm.apis import merge_cascade
    out = str(tmp_path_factory.mktemp('ckpt') / 'cls_cascade.pth')
    return out, merge_cascade(CLS_CFG, out)


@pytest.fixture(scope='module')
def det_ckpt(tmp_path_factory):
    from tinysaver_mm.apis import merge_cascade
    out = str(tmp_path_factory.mktemp('ckpt') / 'det_cascade.pth')
    return out, merge_cascade(DET_CFG, out)


@pytest.fixture(scope='module')
def det_subset(tmp_path_factory):
    """cfg-options evaluating the detection cascade on the first 24 val images only."""
    _need_data('fmnist_det/annotations/instances_val.json')
    coco = json.load(open(osp.join(ROOT, 'data/fmnist_det/annotations/instances_val.json')))
    images = coco['images'][:24]
    ids = {im['id'] for im in images}
    sub = dict(coco, images=images, annotations=[a for a in coco['annotations']
                                                 if a['image_id'] in ids])
    path = str(tmp_path_factory.mktemp('ann') / 'val24.json')
    json.dump(sub, open(path, 'w'))
    return [f'test_dataloader.dataset.ann_file={path}', f'test_evaluator.0.ann_file={path}'
            ] + NO_WORKERS


@pytest.fixture(scope='module')
def cls_reference(tmp_path_factory):
    """This project's tools/test.py on the classification subset."""
    _need_data('fashion_mnist/t10k-images-idx3-ubyte')
    wd = str(tmp_path_factory.mktemp('ref_cls'))
    proc = _run(sys.executable, 'tools/test.py', CLS_CFG, '--work-dir', wd,
                '--cfg-options', *CLS_SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _json_metrics(wd)


def _build(cfg_path):
    from mmengine.config import Config
    from tinysaver_mm.apis import init_cascade
    return init_cascade(Config.fromfile(cfg_path))


def _stage_alone(cfg_path, ckpt):
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from tinysaver_mm.utils import load_checkpoint_strict
    cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    load_checkpoint_strict(model, ckpt)
    return model.eval()


# ----------------------------------------------------------------- item 5: one checkpoint
def test_merge_cascade_holds_every_part(det_ckpt, tmp_path):
    from mmengine.config import Config
    from tinysaver_mm.utils import OutputExistsError, load_checkpoint_file, state_dict_fingerprint
    from tinysaver_mm.apis import merge_cascade
    path, meta = det_ckpt
    info = meta['tinysaver_cascade']
    cfg = Config.fromfile(DET_CFG)
    # every stage, alone from its own checkpoint, is in the file under its name
    saved = load_checkpoint_file(path)['state_dict']
    for role in ('saver', 'base'):
        spec = cfg.model[role]
        alone = _stage_alone(spec['cfg_path'], spec['checkpoint'])
        assert info['fingerprints'][role] == state_dict_fingerprint(alone).hex()
        for key, value in alone.state_dict().items():
            assert torch.equal(saved[f'{role}.{key}'], value), key
    assert info['trained_for']['evaluator'] == info['fingerprints']['saver']
    assert info['threshold'] == pytest.approx(cfg.model.threshold)
    assert info['exit_rule'] == 'evaluator' and info['overheads'] == ['evaluator']
    assert tuple(meta['dataset_meta']['classes']) == FMNIST_CLASSES
    assert any(k.startswith('evaluator.') for k in saved)
    # never over an existing file (unless asked) nor onto an input
    with pytest.raises(OutputExistsError, match='--overwrite'):
        merge_cascade(DET_CFG, path)
    with pytest.raises(ValueError, match='is the input'):
        merge_cascade(DET_CFG, cfg.model.saver.checkpoint, overwrite=True)
    with pytest.raises(ValueError, match='is the input'):
        merge_cascade(DET_CFG, DET_CFG, overwrite=True)
    proc = _run(sys.executable, 'tools/merge_cascade.py', DET_CFG, path)
    assert proc.returncode != 0 and 'exist already' in proc.stderr


def test_load_from_is_whole_or_a_clear_error(cls_ckpt, tmp_path):
    """mmengine's non-strict loading (load_from, host CKPT) loads all or refuses."""
    from mmengine.runner import load_checkpoint
    path, _ = cls_ckpt
    model = _build(CLS_CFG)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    load_checkpoint(model, path, strict=False)
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())
    # a stage's own checkpoint: refused, pointing to the config and merge_cascade
    stage = _stage_ckpt(CLS_CFG, 'base')
    with pytest.raises(ValueError, match=r'(?s)not a whole checkpoint.*merge_cascade.*'
                                         r'model\.saver\.checkpoint'):
        load_checkpoint(model, stage, strict=False)
    # an incomplete or mis-shaped whole checkpoint: refused, naming the keys
    state = torch.load(path, weights_only=True)
    key = 'base.head.fc.weight'
    broken = dict(state, state_dict={k: v for k, v in state['state_dict'].items() if k != key})
    torch.save(broken, tmp_path / 'missing.pth')
    with pytest.raises(ValueError, match=r"1 missing keys: \['base\.head\.fc\.weight'\]"):
        load_checkpoint(model, str(tmp_path / 'missing.pth'), strict=False)
    state['state_dict'][key] = state['state_dict'][key][:, :1]
    torch.save(state, tmp_path / 'shape.pth')
    with pytest.raises(ValueError, match='1 shape mismatches'):
        load_checkpoint(model, str(tmp_path / 'shape.pth'), strict=False)
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())


def _stage_ckpt(cfg_path, role):
    from mmengine.config import Config
    return Config.fromfile(cfg_path).model[role]['checkpoint']


# ------------------------------------------------- host test.py, mim test: same metrics
@pytest.mark.slow
def test_mmpretrain_test_py_gives_this_projects_metrics(cls_ckpt, cls_reference, tmp_path):
    wd = str(tmp_path / 'host')
    proc = _run(sys.executable, _host_tool('mmpretrain', 'test.py'), CLS_CFG, cls_ckpt[0],
                '--work-dir', wd, '--cfg-options', *CLS_SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    host = _json_metrics(wd)
    assert host == pytest.approx(cls_reference)
    assert 'accuracy/top1' in host and 'tinysaver/gmacs_cascade' in host
    # a stage's checkpoint as CKPT: a clear error, not a silently kept config
    proc = _run(sys.executable, _host_tool('mmpretrain', 'test.py'), CLS_CFG,
                _stage_ckpt(CLS_CFG, 'base'), '--work-dir', wd, '--cfg-options',
                *CLS_SUBSET)
    assert proc.returncode != 0 and 'tools/merge_cascade.py' in proc.stderr


@pytest.mark.slow
def test_mmdet_test_py_show_dir(det_ckpt, det_subset, tmp_path):
    """Item 1: --show-dir draws every image; metrics are this project's."""
    wd, show = str(tmp_path / 'host'), str(tmp_path / 'show')
    proc = _run(sys.executable, _host_tool('mmdet', 'test.py'), DET_CFG, det_ckpt[0],
                '--work-dir', wd, '--show-dir', show, '--cfg-options', *det_subset)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref_wd = str(tmp_path / 'ref')
    ref = _run(sys.executable, 'tools/test.py', DET_CFG, '--work-dir', ref_wd,
               '--cfg-options', *det_subset)
    assert ref.returncode == 0, ref.stderr[-3000:]
    host, mine = _json_metrics(wd), _json_metrics(ref_wd)
    assert host == pytest.approx(mine)
    assert host['coco/bbox_mAP'] > 0.2  # the 24 images are the whole ground truth
    drawn = sorted(os.listdir(show))
    assert len(drawn) == 24 and all(d.endswith('.png') for d in drawn)


def _mim_root():
    """tinysaver_mm's root as mim resolves it, or skip when mim cannot find its layout."""
    pytest.importorskip('mim', reason='openmim not installed (pip install -r requirements/mim.txt)')
    proc = _run(sys.executable, '-c', 'from mim.utils import get_installed_path; '
                'print(get_installed_path("tinysaver_mm"))')
    root = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else ''
    if not osp.isfile(osp.join(root, '.mim', 'tools', 'test.py')):
        pytest.skip(f'mim finds tinysaver_mm at {root!r} without .mim/ (bash tools/install.sh '
                    'links it)')
    return root


def _mim(*args):
    return _run(osp.join(osp.dirname(sys.executable), 'mim'), *args)


@pytest.mark.slow
def test_mim_list_and_test(cls_ckpt, cls_reference, tmp_path):
    root = _mim_root()
    assert osp.samefile(osp.join(root, '.mim', 'model-index.yml'),
                        osp.join(ROOT, 'model-index.yml'))
    proc = _mim('list')
    assert proc.returncode == 0 and re.search(r'^tinysaver-mm\s', proc.stdout, re.M), proc.stdout
    wd = str(tmp_path / 'mim')
    # the config by name: mim finds it in the package's .mim/configs
    proc = _mim('test', 'tinysaver_mm', osp.basename(CLS_CFG), '-C', cls_ckpt[0],
                '--work-dir', wd, '--cfg-options', *CLS_SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    assert _json_metrics(wd) == pytest.approx(cls_reference)


@pytest.mark.slow
def test_mim_train(tmp_path):
    _mim_root()
    _need_data('fashion_mnist/train-images-idx3-ubyte')
    wd = str(tmp_path / 'train')
    opts = ['train_dataloader.dataset.indices=64', 'val_dataloader.dataset.indices=32',
            'train_cfg.max_epochs=1', 'param_scheduler=None']
    opts += [f'{d}.{k}' for d in ('train_dataloader', 'val_dataloader')
             for k in ('num_workers=0', 'persistent_workers=False')]
    proc = _mim('train', 'tinysaver_mm', 'resnet18-w4s2_fmnist.py', '--work-dir', wd,
                '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = osp.join(wd, 'epoch_1.pth')
    model = _stage_alone(osp.join(ROOT, 'configs/fashion_mnist/resnet18-w4s2_fmnist.py'), ckpt)
    assert model is not None  # the trained checkpoint loads strictly into its config


def test_model_index_figures_are_the_shipped_results():
    """mim's model index names existing configs and weights, with results/*.json figures."""
    import yaml
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    models = {}
    for rel in index['Import']:
        for m in yaml.safe_load(open(osp.join(ROOT, rel)))['Models']:
            assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
            for w in m.get('Weights', '').split(' + '):  # templates have none; zoo pairs are URLs
                assert not w or w.startswith('https://') or osp.isfile(osp.join(ROOT, w)), w
            models[m['Name']] = m
    cls = json.load(open(osp.join(ROOT, 'results', 'demo_fashion_mnist.json')))
    det = json.load(open(osp.join(ROOT, 'results', 'demo_det.json')))

    def metric(name):
        return next(iter(models[name]['Results'][0]['Metrics'].values()))

    assert metric('tinysaver_resnet18-w4s2_resnet18-w16_fmnist') == round(cls['cascade_top1'], 2)
    assert metric('resnet18-w4s2_fmnist') == round(cls['saver_top1'], 2)
    assert metric('resnet18-w16_fmnist') == round(cls['base_top1'], 2)
    assert metric('tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det') == round(
        100 * det['cascade_map'], 1)
    assert metric('rtmdet-w125_96px_fmnist-det') == round(100 * det['saver_map'], 1)
    assert metric('rtmdet-w375_128px_fmnist-det') == round(100 * det['base_map'], 1)
    flops = {n: m['Metadata']['FLOPs'] for n, m in models.items() if 'FLOPs' in m['Metadata']}
    assert flops['tinysaver_resnet18-w4s2_resnet18-w16_fmnist'] == round(cls['gmacs_cascade'] * 1e9)
    assert flops['tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det'] == round(det['gmacs_cascade'] * 1e9)
    assert flops['rtmdet-w375_128px_fmnist-det'] == round(det['gmacs_base'] * 1e9)
    assert models['tinysaver_resnet18-w4s2_resnet18-w16_fmnist']['Metadata']['Threshold'] == \
        cls['threshold']
    esn = json.load(open(osp.join(ROOT, 'results', 'esn_fashion_mnist.json')))
    row = next(r for r in esn['rows'] if r['method'] == 'esn' and r['target_drop_pts'] == 0.1)
    name = 'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist'
    assert metric(name) == round(row['test_top1'], 2)
    assert flops[name] == round(row['gmacs_per_img'] * 1e9)


# ----------------------------------------------------- items 1-3: samples, API, class names
def test_det_preprocessor_leaves_samples_as_mmdets():
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.structures import InstanceData
    from tinysaver_mm.models.detectors import TinySaverDetDataPreprocessor
    ds = DetDataSample(metainfo=dict(img_shape=(20, 30), ori_shape=(20, 30)))
    ds.gt_instances = InstanceData(bboxes=HorizontalBoxes(torch.tensor([[1., 2., 3., 4.]])),
                                   labels=torch.tensor([0]))
    img = torch.randint(0, 255, (3, 20, 30), dtype=torch.uint8)
    out = TinySaverDetDataPreprocessor()({'inputs': [img], 'data_samples': [ds]})
    assert torch.equal(out['inputs'][0], img)  # raw: each stage preprocesses for itself
    boxes = out['data_samples'][0].gt_instances.bboxes
    assert type(boxes) is torch.Tensor and boxes.tolist() == [[1., 2., 3., 4.]]
    assert out['data_samples'][0].pad_shape == (20, 30)


def test_init_detector_and_inferencer_use_the_stages_classes(det_ckpt, tmp_path):
    """Items 2 and 3: init_detector without cfg_options; boxes drawn with the stages' names."""
    _need_data('fmnist_det/val')
    from mmdet.apis import DetInferencer, init_detector
    model = init_detector(DET_CFG, det_ckpt[0], device='cpu')
    assert type(model).__name__ == 'TinySaverDetector'
    assert tuple(model.dataset_meta['classes']) == FMNIST_CLASSES
    # no checkpoint: mmdet sets COCO's names; the cascade keeps its stages' (warned)
    model = init_detector(DET_CFG, None, device='cpu')
    assert tuple(model.dataset_meta['classes']) == FMNIST_CLASSES
    infer = DetInferencer(model=DET_CFG, weights=det_ckpt[0], device='cpu')
    texts = []
    draw = infer.visualizer.draw_texts

    def spy(text, *args, **kwargs):
        texts.extend([text] if isinstance(text, str) else list(text))
        return draw(text, *args, **kwargs)

    infer.visualizer.draw_texts = spy
    img = sorted(glob.glob(osp.join(ROOT, 'data/fmnist_det/val/*')))[0]
    out = infer(img, out_dir=str(tmp_path), pred_score_thr=0.3)
    names = {t.split(':')[0].strip() for t in texts}
    assert names and names <= set(FMNIST_CLASSES), names
    labels = [lab for lab, s in zip(out['predictions'][0]['labels'],
                                    out['predictions'][0]['scores']) if s >= 0.3]
    assert names == {FMNIST_CLASSES[lab] for lab in labels}
    assert glob.glob(osp.join(str(tmp_path), 'vis', '*'))


def test_backbone_key_is_empty_only():
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CFG)
    assert cfg.model.backbone == {}
    from tinysaver_mm.models.detectors import TinySaverDetector
    with pytest.raises(ValueError, match="no backbone of its own"):
        TinySaverDetector(saver=dict(), base=dict(), backbone=dict(depth=50))


# ------------------------------------------------------------ item 4: what does it cost
@pytest.mark.slow
def test_mmdet_get_flops_is_the_hooks_base_figure():
    _need_data('fmnist_det/val')
    from mmengine.analysis.print_helper import _format_size
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    proc = _run(sys.executable, _host_tool('mmdet', 'analysis_tools', 'get_flops.py'), DET_CFG,
                '--num-images', '1', '--cfg-options', 'val_dataloader.num_workers=0',
                'val_dataloader.persistent_workers=False')
    assert proc.returncode == 0, proc.stderr[-3000:]
    flops = re.search(r'^Flops: (\S+)$', proc.stdout, re.M).group(1)
    assert 'runs the base alone' in proc.stdout + proc.stderr
    # what TinySaverMACsHook measures on the same first image
    cfg = Config.fromfile(DET_CFG)
    cfg.val_dataloader.update(batch_size=1, num_workers=0, persistent_workers=False)
    model = _build(DET_CFG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        loader = Runner.build_dataloader(cfg.val_dataloader)
        batch = model.data_preprocessor(next(iter(loader)))
    macs = model.measure_stage_macs(batch['inputs'], batch['data_samples'])
    assert flops == _format_size(macs['base'])


def test_complexity_of_features_is_the_base_alone_and_3_channels_refused():
    from mmengine.analysis import get_model_complexity_info
    from tinysaver_mm.utils import measure_macs
    model = _build(CLS_CFG)
    x = torch.randint(0, 255, (1, 1, 28, 28), dtype=torch.uint8)
    model.forward = model.extract_feat  # as mmpretrain's get_flops.py does
    figure = get_model_complexity_info(model, inputs=(x, ), show_table=False,
                                       show_arch=False)['flops']

    class Feats(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, y):
            return self.m.extract_feat(y)

    pre = model.base.data_preprocessor({'inputs': x, 'data_samples': None}, False)['inputs']
    assert figure == measure_macs(Feats(model.base), pre) > 0
    with pytest.raises(ValueError, match=r'takes 1-channel images.*TinySaverMACsHook'):
        model.extract_feat(torch.zeros(1, 3, 28, 28))


@pytest.mark.slow
def test_mmpretrain_get_flops_says_what_to_use():
    proc = _run(sys.executable, _host_tool('mmpretrain', 'analysis_tools', 'get_flops.py'),
                CLS_CFG, '--shape', '28', '28')
    assert proc.returncode != 0
    assert 'takes 1-channel images but got inputs of shape (1, 3, 28, 28)' in proc.stderr
    assert 'TinySaverMACsHook' in proc.stderr


# ------------------------------------------------------------- item 7: whole-cascade export
@pytest.mark.parametrize('cfg_path', [CLS_CFG, DET_CFG], ids=['cls', 'det'])
def test_whole_cascade_export_is_refused_stages_export(cfg_path, tmp_path):
    from tinysaver_mm.models.cascade import CascadeExportError
    model = _build(cfg_path)
    det = cfg_path == DET_CFG
    x = torch.randint(0, 255, (1, 3, 128, 128) if det else (2, 1, 28, 28), dtype=torch.uint8)
    exports = {
        'torch.jit.trace': lambda: torch.jit.trace(model, (x, )),
        'torch.onnx.export': lambda: torch.onnx.export(model, (x, ), str(tmp_path / 'm.onnx'),
                                                       dynamo=False),
        'torch.export': lambda: torch.export.export(model, (x, )),
    }
    for how, export in exports.items():
        with pytest.raises(CascadeExportError, match=rf'\({re.escape(how)}\).*cascade\.saver'):
            export()
    # a stage alone still traces, on its own preprocessed inputs
    pre, samples = model.stage_inputs('saver', list(x) if det else x)
    stage = model.saver
    if det:
        traced = torch.jit.trace(lambda t: stage._forward(t, samples)[0][0], (pre, ))
        assert torch.allclose(traced(pre), stage._forward(pre, samples)[0][0])
    else:
        traced = torch.jit.trace(lambda t: stage(t, mode='tensor'), (pre, ))
        assert torch.allclose(traced(pre), stage(pre, mode='tensor'))
