"""Evaluation components of tinysaver_mm."""
from .metrics import TinySaverDetReport, TinySaverMetric

__all__ = ['TinySaverMetric', 'TinySaverDetReport']
