"""Engine components (hooks, distributed wrapper) of tinysaver_mm."""
from .hooks import TinySaverMACsHook
from .model_wrapper import TinySaverDistributedDataParallel

__all__ = ['TinySaverMACsHook', 'TinySaverDistributedDataParallel']
