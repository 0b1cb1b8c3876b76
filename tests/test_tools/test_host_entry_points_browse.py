"""Host tools that read a cascade config's training data (issue 25, case 4).

The detection and segmentation cascade configs keep their stages' training
data as ``train_dataloader`` (``configs/_base_/cascades/inference_only.py``),
so the host tools that read it (``browse_dataset.py``, mmdet's
``analyze_results.py``) get the same data as on a stage's own config; training such a config is refused at once
by its train loop, naming the stage configs to train instead.
"""
import os
import sys

import pytest
from host_entry_helpers import DET_CFG, SEG_CFG, host_tool, need_data, run

FEW = ['train_dataloader.dataset.indices=3', 'train_dataloader.num_workers=0',
       'train_dataloader.persistent_workers=False']


@pytest.mark.slow
def test_mmdet_browse_dataset_shows_the_stages_training_data(tmp_path):
    pytest.importorskip('mmdet')
    need_data('fmnist_det/train')
    proc = run(sys.executable, host_tool('mmdet', 'analysis_tools', 'browse_dataset.py'), DET_CFG,
               '--output-dir', tmp_path, '--not-show', '--cfg-options', *FEW, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(os.listdir(tmp_path)) == 3  # one drawn image per training sample


@pytest.mark.slow
def test_training_a_cascade_config_is_refused_naming_the_stages(tmp_path):
    pytest.importorskip('mmdet')
    proc = run(sys.executable, host_tool('mmdet', 'train.py'), DET_CFG, '--work-dir', tmp_path,
               '--cfg-options', *FEW, timeout=600)
    assert proc.returncode != 0
    assert 'TinySaverDetector is an inference cascade: it does not train' in proc.stderr
    assert 'rtmdet-w125_96px_fmnist-det.py' in proc.stderr  # the saver's own config
    assert 'tools/train_evaluator.py' in proc.stderr


def test_cascade_configs_keep_a_whole_training_setup_for_the_runner():
    """mmengine's Runner takes train_dataloader, train_cfg and optim_wrapper together; the
    training data is the saver's own config's (what browse_dataset.py shows for either)."""
    from mmengine.config import Config
    for path in (DET_CFG, SEG_CFG):
        cfg = Config.fromfile(path)
        stage = Config.fromfile(cfg.model.base.cfg_path)
        assert cfg.train_dataloader.dataset.to_dict() == stage.train_dataloader.dataset.to_dict()
        assert cfg.train_cfg == dict(type='TinySaverInferenceOnlyLoop')
        assert cfg.optim_wrapper is not None


@pytest.mark.slow
def test_mmdet_analyze_results_on_the_cascades_predictions(tmp_path):
    """mmdet's analyze_results.py reads the loading pipeline of train_dataloader and scores
    the cascade's predictions (mmdet's tools/test.py --out) image by image."""
    import json
    from host_entry_helpers import NO_WORKERS, ROOT
    pytest.importorskip('mmdet')
    need_data('fmnist_det/annotations/instances_val.json')
    coco = json.load(open(f'{ROOT}/data/fmnist_det/annotations/instances_val.json'))
    images = coco['images'][:8]
    ids = {im['id'] for im in images}
    ann = str(tmp_path / 'val8.json')
    json.dump(dict(coco, images=images,
                   annotations=[a for a in coco['annotations'] if a['image_id'] in ids]),
              open(ann, 'w'))
    opts = [f'test_dataloader.dataset.ann_file={ann}', f'test_evaluator.0.ann_file={ann}'
            ] + NO_WORKERS
    from tinysaver_mm.apis import merge_cascade
    ckpt = str(tmp_path / 'det.pth')
    merge_cascade(DET_CFG, ckpt)
    pkl = str(tmp_path / 'preds.pkl')
    proc = run(sys.executable, host_tool('mmdet', 'test.py'), DET_CFG, ckpt, '--work-dir',
               tmp_path / 'w', '--out', pkl, '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    show = tmp_path / 'show'
    proc = run(sys.executable, host_tool('mmdet', 'analysis_tools', 'analyze_results.py'),
               DET_CFG, pkl, show, '--topk', '2', '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {'bad', 'good'} <= set(os.listdir(show))
    assert len(os.listdir(show / 'good')) == 2 and len(os.listdir(show / 'bad')) == 2
