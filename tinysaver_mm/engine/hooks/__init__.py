"""Hooks of tinysaver_mm (mmengine root registry)."""
from .drift_hook import TinySaverDriftHook
from .macs_hook import TinySaverMACsHook

__all__ = ['TinySaverDriftHook', 'TinySaverMACsHook']
