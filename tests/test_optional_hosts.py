"""Classification works when mmseg and mmdet are absent or fail to import.

Each case runs in a fresh interpreter where imports of ``mmseg``/``mmdet`` are
blocked before ``tinysaver_mm`` is imported: ``absent`` makes them look
uninstalled (``sys.modules[name] = None``: ``find_spec`` says None, import
raises ModuleNotFoundError); ``broken`` leaves them findable but failing to
import (a meta-path hook whose loader raises ImportError, as a bad mmcv would).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

SCRIPT = r'''
import importlib.abc, importlib.machinery, json, sys, warnings
BLOCKED = ('mmseg', 'mmdet')
if sys.argv[1] == 'absent':
    for name in BLOCKED:
        sys.modules[name] = None
else:
    class _Loader(importlib.abc.Loader):
        def create_module(self, spec):
            raise ImportError(f'{spec.name} blocked by the test')

        def exec_module(self, module):
            pass

    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in BLOCKED:
                return importlib.machinery.ModuleSpec(name, _Loader())
            return None

    sys.meta_path.insert(0, _Block())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import tinysaver_mm
    import tinysaver_mm.datasets
import torch
from mmpretrain.registry import MODELS
from tinysaver_mm.testing import register_test_models, stage_cfg
register_test_models()
torch.manual_seed(0)
model = MODELS.build(dict(type='TinySaverClassifier', threshold=0.5,
                          saver=stage_cfg(channels=2, std=255.0),
                          base=stage_cfg(channels=8, mean=128.0, std=64.0)))
raw = torch.randint(0, 256, (16, 1, 8, 8), generator=torch.Generator().manual_seed(0),
                    dtype=torch.uint8)
ref = {}
for role in ('saver', 'base'):
    stage = getattr(model, role)
    x = stage.data_preprocessor({'inputs': raw}, False)['inputs']
    ref[role] = torch.stack([ds.pred_score for ds in stage.predict(x)])
conf = ref['saver'].max(1).values
model.threshold = float(conf.median())
exits = conf >= model.threshold
out = model.predict(raw)
scores = torch.stack([ds.pred_score for ds in out])
expected = torch.where(exits[:, None], ref['saver'], ref['base'])
print(json.dumps(dict(
    max_err=float((scores - expected).abs().max()),
    exited=[bool(ds.exited) for ds in out], expected_exits=exits.tolist(),
    loaded=sorted(m for m, v in sys.modules.items()
                  if m.partition('.')[0] in BLOCKED and v is not None),
    has_seg_dataset=hasattr(tinysaver_mm.datasets, 'FashionMNISTSegDataset'),
    warnings=[str(w.message) for w in caught if 'tinysaver_mm' in str(w.message)])))
'''


@pytest.mark.slow  # two fresh interpreters importing torch and mmpretrain (~20 s each)
@pytest.mark.parametrize('mode', ['absent', 'broken'])
def test_classification_without_mmseg_and_mmdet(mode):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', SCRIPT, mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res['loaded'] == []
    assert res['has_seg_dataset'] is False
    assert res['max_err'] < 1e-6
    assert res['exited'] == res['expected_exits'] and 0 < sum(res['exited']) < 16
    if mode == 'absent':
        assert res['warnings'] == []  # not installed: nothing to warn about
    else:  # installed but broken: each missing part is named
        assert any('mmdet is installed' in w for w in res['warnings']), res['warnings']
        assert any('mmseg is installed' in w for w in res['warnings']), res['warnings']
