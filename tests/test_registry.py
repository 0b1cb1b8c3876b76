"""Registration into the host registries; classification needs no mmdet or mmseg."""
import subprocess
import sys

import pytest


def test_registered_in_host_registries():
    import tinysaver_mm  # noqa: F401
    from mmengine.registry import HOOKS, METRICS
    from mmpretrain.registry import MODELS
    assert MODELS.get('TinySaverClassifier') is not None
    assert HOOKS.get('TinySaverMACsHook') is not None
    assert METRICS.get('TinySaverMetric') is not None


@pytest.mark.parametrize('block, host', [('mmdet', None), ('mmseg', None), ('ftfy', 'mmseg')])
def test_classification_works_without_mmdet_or_mmseg(block, host):
    """With mmdet or mmseg unimportable (``None`` in sys.modules), or mmseg installed
    but failing to import (mmseg 1.2.2 imports ftfy unconditionally, mmseg#3704), the
    package imports, warns about a broken host only, and a cascade predicts."""
    code = f"""
import sys, warnings
sys.modules[{block!r}] = None  # any 'import {block}' now raises ImportError
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import torch, tinysaver_mm
print('BROKEN', sorted(h for h in ('mmdet', 'mmseg')
                       if any(h + ' is installed but' in str(w.message) for w in caught)))
from mmpretrain.registry import MODELS
stage = lambda c: dict(type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1, base_channels=c,
                  stem_channels=c, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=8 * c))
m = MODELS.build(dict(type='TinySaverClassifier', saver=stage(2), base=stage(4)))
print('PREDICTED', len(m.predict(torch.zeros(3, 1, 28, 28, dtype=torch.uint8))))
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    said = dict(line.split(' ', 1) for line in out.stdout.splitlines()
                if line.startswith(('BROKEN', 'PREDICTED')))
    assert said == dict(BROKEN=str([host] if host else []), PREDICTED='3')
