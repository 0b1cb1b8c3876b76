"""Registry nodes of tinysaver_mm, for host tools that read no config.

This project registers its modules into the host registries (models) and
mmengine's root registries (hooks, metrics, evaluators), where a config's
``custom_imports = dict(imports=['tinysaver_mm'])`` makes them known. A host
tool that reads no config (mmpretrain's ``analysis_tools/eval_metric.py``)
never imports the package, so ``type='TinySaverMetric'`` is unknown there.
A scoped name, ``type='tinysaver_mm.TinySaverMetric'``, works: mmengine then
imports ``tinysaver_mm.registry`` (this module, which imports the package)
and looks the name up under the ``tinysaver_mm`` nodes below, children of
the root registries that hold nothing themselves and fall back to the root.
"""
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import Registry

import tinysaver_mm  # noqa: F401  (registers the hooks, metrics and evaluator)

__all__ = ['EVALUATOR', 'HOOKS', 'METRICS']

METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='tinysaver_mm')
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='tinysaver_mm')
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope='tinysaver_mm')
