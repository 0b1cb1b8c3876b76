"""TinySaver cascades for OpenMMLab.

Importing the package (e.g. through ``custom_imports``) registers the hook and
metric into mmengine's root registries, ``TinySaverClassifier`` into
mmpretrain's MODELS when mmpretrain is installed, and allowlists mmengine's
checkpoint types for torch's safe ``weights_only`` loading.
"""
from importlib.util import find_spec

from .utils.checkpoint import register_safe_globals
from .version import __version__

register_safe_globals()

from . import core, engine, evaluation  # noqa: E402,F401

if find_spec('mmpretrain') is not None:
    from .models import classifiers  # noqa: F401

__all__ = ['__version__', 'register_safe_globals']
