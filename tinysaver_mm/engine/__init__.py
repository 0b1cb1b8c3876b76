"""Engine components (hooks, distributed wrapper) of tinysaver_mm."""
from .hooks import TinySaverDriftHook, TinySaverMACsHook, TinySaverPartCheckpointHook
from .model_wrapper import TinySaverDistributedDataParallel

__all__ = ['TinySaverDriftHook', 'TinySaverMACsHook', 'TinySaverPartCheckpointHook',
           'TinySaverDistributedDataParallel']
