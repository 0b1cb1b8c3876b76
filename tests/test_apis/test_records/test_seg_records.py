"""Segmentation records of the embedded cascade vs each stage run alone."""
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')

from tinysaver_mm.apis import load_cfg, load_seg_records, record_segmentation  # noqa: E402
from tinysaver_mm.core import seg_confidence  # noqa: E402
from tinysaver_mm.evaluation.functional import image_areas  # noqa: E402
from tinysaver_mm.utils import OutputExistsError  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CFG = osp.join(ROOT, 'configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py')


@pytest.fixture(scope='module')
def records(tmp_path_factory):
    if not osp.isdir(osp.join(ROOT, 'data/fmnist_seg/holdout')):
        pytest.skip('bash tools/make_fmnist_seg.sh builds the segmentation set')
    out = tmp_path_factory.mktemp('rec')
    cfg = load_cfg(CFG, {'holdout_dataloader.dataset.indices': 12,
                         'holdout_dataloader.num_workers': 0,
                         'holdout_dataloader.persistent_workers': False})
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):  # leaves no scope behind
        path = record_segmentation(cfg, 'holdout', str(out), config_path=CFG)
    return cfg, path


def test_records_equal_each_stage_alone(records):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from mmseg.registry import MODELS
    cfg, path = records
    rec = load_seg_records(path)
    assert len(rec['img_paths']) == 12 and rec['meta']['num_classes'] == 11
    loader = dict(cfg.holdout_dataloader, sampler=dict(type='DefaultSampler', shuffle=False))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(cfg.model, evaluator=None, threshold=1.0,
                                  exit_rule='mean_max_prob')).eval()
        i = 0
        for batch in Runner.build_dataloader(loader, seed=0):
            batch = model.data_preprocessor(batch, False)
            with torch.no_grad():
                for role in ('saver', 'base'):
                    x, samples = model.stage_inputs(role, batch['inputs'], batch['data_samples'])
                    preds = getattr(model, role).predict(x, samples)
                    for j, (p, ds) in enumerate(zip(preds, batch['data_samples'])):
                        gt = ds.gt_sem_seg.data[0].numpy()
                        assert np.array_equal(rec[f'{role}_areas'][i + j],
                                              image_areas(p.pred_sem_seg.data[0].numpy(), gt, 11))
                        if role == 'saver':
                            for rule in rec['meta']['rules']:
                                ref = seg_confidence([p.seg_logits.data], rule, model.quantile)
                                assert rec[f'conf_{rule}'][i + j] == pytest.approx(float(ref[0]))
            i += len(batch['data_samples'])
    assert i == 12
    assert (rec['macs_base'] > 10 * rec['macs_saver']).all()


def test_records_refuse_an_existing_file_and_other_configs(records, tmp_path):
    cfg, path = records
    with pytest.raises(OutputExistsError, match='holdout_seg.npz'):
        record_segmentation(cfg, 'holdout', osp.dirname(path), config_path=CFG)
    det = load_cfg(osp.join(ROOT, 'configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py'))
    with pytest.raises(ValueError, match="model type 'TinySaverDetector'; record with a "
                                         'TinySaverSegmentor'):
        record_segmentation(det, 'holdout', str(tmp_path))
    with pytest.raises(ValueError, match="split 'dev' must be one of"):
        record_segmentation(cfg, 'dev', str(tmp_path))
    empty = load_cfg(CFG, {'holdout_dataloader.dataset.indices': []})
    with pytest.raises(ValueError, match='empty|no image|no sample'):
        record_segmentation(empty, 'holdout', str(tmp_path / 'e'), config_path=CFG)


@pytest.mark.slow
def test_embedded_demo_report_through_tools_test(tmp_path):
    """The README's segmentation demo on 48 val canvases: IoUMetric's mIoU is the
    report's routed cascade mIoU, and every policy is written."""
    import json
    import subprocess
    import sys
    if not osp.isdir(osp.join(ROOT, 'data/fmnist_seg/val')):
        pytest.skip('bash tools/make_fmnist_seg.sh builds the segmentation set')
    out = str(tmp_path / 'demo_seg.json')
    cfg = CFG.replace('.py', '_report.py')
    p = subprocess.run([sys.executable, osp.join(ROOT, 'tools/test.py'), cfg, '--work-dir',
                        str(tmp_path / 'w'), '--cfg-options',
                        'test_dataloader.dataset.indices=48', 'test_dataloader.num_workers=0',
                        'test_dataloader.persistent_workers=False',
                        f'test_evaluator.metrics.2.out_file={out}'],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    rep = json.load(open(out))
    miou = float([ln for ln in p.stdout.splitlines() if ln.startswith('mIoU:')][0].split()[1])
    assert rep['cascade_miou'] == pytest.approx(miou, abs=0.006)   # IoUMetric rounds to 0.01
    assert {r['policy'] for r in rep['policies']} == {
        'mean_max_prob', 'quantile_max_prob', 'mean_entropy', 'evaluator', 'oracle'}
    assert rep['num_images'] == 48 and 0 <= rep['exit_ratio'] <= 1
