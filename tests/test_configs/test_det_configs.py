"""COCO cascade configs (model-zoo URLs): build on random weights, run the real test path."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
COCO_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'coco', 'tinysaver_*.py')))


def _random_weights(cfg):
    """The config's cascade, with the zoo checkpoints left out (no internet)."""
    for role in ('saver', 'base'):
        assert str(cfg.model[role].checkpoint).startswith('https://download.openmmlab.com/')
        cfg.model[role].checkpoint = None
    return cfg


def _batch(cfg, tmp_path, hw=(360, 480)):
    """One random image through the config's own test pipeline (no annotations)."""
    from mmcv.transforms import Compose
    from mmdet.registry import TRANSFORMS
    import mmcv
    path = str(tmp_path / 'img.jpg')
    mmcv.imwrite(np.random.default_rng(0).integers(0, 255, (*hw, 3), dtype=np.uint8), path)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    pipeline = Compose([TRANSFORMS.build(t) for t in steps])
    return pseudo_collate([pipeline(dict(img_path=path, img_id=1))])


@pytest.mark.parametrize('config', COCO_CONFIGS, ids=osp.basename)
def test_coco_config_builds_and_runs_on_random_weights(config, tmp_path):
    from tinysaver_mm.apis import load_cfg
    from mmdet.registry import MODELS
    cfg = _random_weights(load_cfg(config))
    assert cfg.custom_imports['imports'] == ['tinysaver_mm']
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        model.threshold = 1.0  # random weights: send the image on to the base too
        data = _batch(cfg, tmp_path)
        with torch.no_grad():
            out = model.test_step(data)
    ds = out[0]
    h, w = ds.ori_shape
    assert (h, w) == (360, 480)
    boxes = ds.pred_instances.bboxes
    assert boxes.shape[1] == 4
    if len(boxes):  # original image coordinates, whatever each detector's resolution
        # (a letterboxed detector may box its padding: the square of the long side)
        assert float(boxes.max()) <= max(h, w) + 1e-3 and float(boxes.min()) >= -1e-3
    assert ds.answered_by == 'base' and ds.macs == ds.macs_saver + ds.macs_base
    assert ds.macs_base > 2 * ds.macs_saver > 0
