"""Segmentation cascade configs (mmseg model-zoo URLs): random weights, the config's own
test pipeline, test_step and its evaluators; each stage's MACs against the zoo figures.

No download: the checkpoints are set to None here, and the stage configs' pretrained
backbone ``init_cfg`` is never run (the cascade does not call ``init_weights``).
"""
import glob
import inspect
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')
from mmengine.registry import DefaultScope  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEG_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'cityscapes', 'tinysaver_*.py')) +
                     glob.glob(osp.join(ROOT, 'configs', 'ade20k', 'tinysaver_*.py')))

# GMACs per image of each zoo model at its data set's reference size, from
# /work/shared/SEGMENTATION_NOTES.md section 2 (mmengine get_model_complexity_info,
# tensor mode, aux heads removed; PIDNet's match its paper, SegFormer-B0's too).
# SegFormer-B5 on Cityscapes runs slide inference: 3 crops x 420 GMACs.
ZOO_GMACS = {
    'pidnet-s_2xb6-120k_1024x1024-cityscapes': 47.5,
    'pidnet-l_2xb6-120k_1024x1024-cityscapes': 275.7,
    'segformer_mit-b5_8xb1-160k_cityscapes-1024x1024': 1260.0,
    'segformer_mit-b0_8xb2-160k_ade20k-512x512': 8.5,
    'segformer_mit-b5_8xb2-160k_ade20k-512x512': 75.2,
}
# building and tracing SegFormer-B5 (82M parameters) takes over 20 s on a CPU
PIPELINE_CASES = [pytest.param(c, marks=pytest.mark.slow) if 'segformer-b5' in c else c
                  for c in SEG_CONFIGS]
REFERENCE_HW = {'cityscapes': (1024, 2048), 'ade20k': (512, 512)}


def _zoo_name(cfg, role):
    return osp.splitext(osp.basename(cfg.model[role].cfg_path))[0]


def _metafile_weights(cfg_path):
    """The ``Weights:`` URL of a config in mmseg's own metafile."""
    import yaml
    import mmseg
    algo, name = cfg_path.split('::')[1].split('/')
    meta = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', algo, 'metafile.yaml')
    with open(meta) as f:
        models = yaml.safe_load(f)['Models']
    return next(m['Weights'] for m in models if m['Name'] == osp.splitext(name)[0])


def _cascade(config):
    """The config's cascade on random weights (checkpoints checked, then left out)."""
    from mmseg.registry import MODELS
    from tinysaver_mm.apis import load_cfg
    cfg = load_cfg(config)
    assert cfg.custom_imports['imports'] == ['tinysaver_mm'] and cfg.default_scope == 'mmseg'
    for role in ('saver', 'base'):
        assert cfg.model[role].checkpoint == _metafile_weights(cfg.model[role].cfg_path)
        cfg.model[role].checkpoint = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        return cfg, MODELS.build(cfg.model)


def _dataset(config):
    return 'ade20k' if osp.basename(osp.dirname(config)) == 'ade20k' else 'cityscapes'


@pytest.mark.parametrize('config', PIPELINE_CASES, ids=osp.basename)
def test_seg_config_runs_its_test_pipeline_test_step_and_evaluators(config, tmp_path):
    """A synthetic 64x128 image and label map through the config's own test pipeline,
    with its Resize scale shrunk so that the short side becomes 128 instead of 1024
    (Cityscapes) or 512 (ADE20K): stated, for CPU time (the MACs test below runs the
    reference size). Then ``test_step`` and the config's own evaluators."""
    import mmcv
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import EVALUATOR
    from mmseg.registry import DATASETS, TRANSFORMS
    cfg, model = _cascade(config)
    dataset = cfg.test_dataloader.dataset
    meta = DATASETS.get(dataset.type).METAINFO
    rng = np.random.default_rng(0)
    img, seg = str(tmp_path / 'img.png'), str(tmp_path / 'seg.png')
    mmcv.imwrite(rng.integers(0, 255, (64, 128, 3), dtype=np.uint8), img)
    mmcv.imwrite(rng.integers(0, len(meta['classes']), (64, 128), dtype=np.uint8), seg)
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            shrink = min(step['scale']) // 128
            step = dict(step, scale=tuple(s // shrink for s in step['scale']))
        with DefaultScope.overwrite_default_scope('mmseg'):  # whatever scope a test left
            steps.append(TRANSFORMS.build(step))
    reduce_zero = dataset.get('reduce_zero_label', next(  # the data set class's (ADE20K: True)
        inspect.signature(c.__init__).parameters['reduce_zero_label'].default
        for c in DATASETS.get(dataset.type).__mro__
        if 'reduce_zero_label' in inspect.signature(c.__init__).parameters))
    with DefaultScope.overwrite_default_scope('mmseg'):
        data = pseudo_collate([Compose(steps)(dict(img_path=img, seg_map_path=seg,
                                                   reduce_zero_label=reduce_zero,
                                                   seg_fields=[]))])
        model.threshold = 1.0  # random weights: the image goes on to the base too
        with torch.no_grad():
            out = model.test_step(data)
        evaluator = EVALUATOR.build(cfg.test_evaluator)
        evaluator.dataset_meta = meta
        evaluator.process(out, data)
        metrics = evaluator.evaluate(1)
    ds = out[0]
    assert ds.ori_shape == (64, 128) and ds.img_shape == (128, 256)  # resized, and back
    assert ds.pred_sem_seg.shape == ds.gt_sem_seg.shape == (64, 128)
    assert ds.seg_logits.data.shape == (len(meta['classes']), 64, 128)
    assert ds.answered_by == 'base' and ds.macs == ds.macs_saver + ds.macs_base
    assert ds.macs_base > 2 * ds.macs_saver > 0
    assert {'mIoU', 'tinysaver/exit_ratio', 'tinysaver/gmacs_cascade'} <= set(metrics)
    assert model.num_classes == len(meta['classes'])


@pytest.mark.slow
@pytest.mark.parametrize('config', SEG_CONFIGS, ids=osp.basename)
def test_seg_config_stage_macs_match_the_zoo_figures(config):
    """Each stage's MACs at the data set's reference size within 10% of the notes'."""
    from mmseg.structures import SegDataSample
    cfg, model = _cascade(config)
    hw = REFERENCE_HW[_dataset(config)]
    img = torch.zeros(3, *hw, dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(ori_shape=hw, img_shape=hw, pad_shape=hw))
    macs = model.image_macs([img], [sample])[0]
    for role in ('saver', 'base'):
        want = ZOO_GMACS[_zoo_name(cfg, role)]
        got = macs[role] / 1e9
        print(f'{osp.basename(config)} {role} {_zoo_name(cfg, role)}: {got:.1f} GMACs '
              f'(notes: {want})')
        assert got == pytest.approx(want, rel=0.10), (role, got, want)
