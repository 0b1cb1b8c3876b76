"""The ImageNet configs build and run on random weights (no download here)."""
import glob
import os
import os.path as osp

import pytest
import torch
import yaml

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
# the two-stage pairs (the ESN configs have their own test in test_esn.py)
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', 'imagenet', '*.py'))
                 if not osp.basename(p).startswith('tinysaver-esn'))


def published_flops(cfg_path):
    """FLOPs (MACs) that mmpretrain's own metafile lists for a config."""
    import mmpretrain
    rel = cfg_path.split('::')[1]
    metafile = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                        osp.dirname(rel), 'metafile.yml')
    for m in yaml.safe_load(open(metafile))['Models']:
        if m.get('Config', '').endswith(rel):
            return m['Metadata']['FLOPs']
    raise KeyError(rel)


def test_there_are_at_least_three_pairs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_imagenet_pair_builds_and_predicts(path, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(path)
    urls = [cfg.model[r].checkpoint for r in ('saver', 'base')]
    assert all(u.startswith('https://') and u.endswith('.pth') for u in urls)
    for r in ('saver', 'base'):
        cfg.model[r].checkpoint = None   # no download here: random weights
    cfg.work_dir = str(tmp_path)
    model = Runner.from_cfg(cfg).model  # the whole config is valid for a Runner
    raw = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    model.threshold = 0.0  # measure both stages once, then route for real
    macs = model.measure_stage_macs(raw)
    for role in ('saver', 'base'):
        ref = published_flops(cfg.model[role].cfg_path)
        assert macs[role] == pytest.approx(ref, rel=0.1), role
    model.threshold = 1.0
    out = model.predict(raw)
    assert len(out) == 2 and out[0].pred_score.shape == (1000, )
    assert all(ds.answered_by == 'base' for ds in out)
    assert out[0].macs == macs['saver'] + macs['base']
