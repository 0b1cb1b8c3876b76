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


def test_import_does_not_pull_mmdet():
    code = ('import sys, tinysaver_mm; '
            'print(any(m == "mmdet" or m.startswith("mmdet.") for m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == 'False'
