"""Engine components (hooks) of tinysaver_mm."""
from .hooks import TinySaverMACsHook

__all__ = ['TinySaverMACsHook']
