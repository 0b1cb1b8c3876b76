"""Hooks of tinysaver_mm (mmengine root registry)."""
from .macs_hook import TinySaverMACsHook

__all__ = ['TinySaverMACsHook']
