"""Registration into the host registries; classification needs no mmdet."""
import subprocess
import sys


def test_registered_in_host_registries():
    import tinysaver_mm  # noqa: F401
    from mmengine.registry import HOOKS, METRICS
    from mmpretrain.registry import MODELS
    assert MODELS.get('TinySaverClassifier') is not None
    assert HOOKS.get('TinySaverMACsHook') is not None
    assert METRICS.get('TinySaverMetric') is not None


def test_classification_works_without_mmdet():
    """With mmdet unimportable, the package imports and a cascade predicts."""
    code = """
import sys
sys.modules['mmdet'] = None  # any 'import mmdet' now raises ImportError
import torch, tinysaver_mm
from mmpretrain.registry import MODELS
stage = lambda c: dict(type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1, base_channels=c,
                  stem_channels=c, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=8 * c))
m = MODELS.build(dict(type='TinySaverClassifier', saver=stage(2), base=stage(4)))
print(len(m.predict(torch.zeros(3, 1, 28, 28, dtype=torch.uint8))))
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == '3'
