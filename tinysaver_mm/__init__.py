"""TinySaver cascades for OpenMMLab.

Importing the package (e.g. through ``custom_imports``) registers the hook and
metric into mmengine's root registries, ``TinySaverClassifier`` and the ``TinyConvNet``
backbone into mmpretrain's MODELS when mmpretrain is installed, ``TinySaverDetector`` and
``TinySaverEvaluatorHead`` into mmdet's MODELS when mmdet is installed,
``TinySaverSegmentor`` and ``TinySaverSegEvaluatorHead`` into mmseg's MODELS when
mmseg is installed, and
allowlists mmengine's checkpoint types for torch's safe ``weights_only``
loading. A host library that is installed but fails to import leaves only its
part out, with a warning naming the error.
"""
import warnings
from importlib import import_module
from importlib.util import find_spec

from .utils.checkpoint import register_safe_globals
from .version import __version__

register_safe_globals()

from . import core, engine, evaluation  # noqa: E402,F401


def _register_host_parts() -> None:
    for host, part in (('mmpretrain', 'classifiers'), ('mmpretrain', 'backbones'),
                       ('mmdet', 'detectors'), ('mmseg', 'segmentors')):
        if find_spec(host) is None:
            continue
        try:
            import_module(f'.models.{part}', __name__)
        except (ImportError, AssertionError) as err:  # mmdet/mmseg assert mmcv's version
            warnings.warn(f'tinysaver_mm: {host} is installed but its cascade '
                          f'part ({part}) could not be imported: {err!r}. Fix '
                          f'the {host} install (see docs/en/get_started.md) to use it.')


_register_host_parts()

__all__ = ['__version__', 'register_safe_globals']
