"""Hooks of tinysaver_mm (mmengine root registry)."""
from .drift_hook import TinySaverDriftHook
from .macs_hook import TinySaverMACsHook
from .part_checkpoint_hook import TinySaverPartCheckpointHook

__all__ = ['TinySaverDriftHook', 'TinySaverMACsHook', 'TinySaverPartCheckpointHook']
