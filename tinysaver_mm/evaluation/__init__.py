"""Evaluation components of tinysaver_mm."""
from .metrics import TinySaverMetric

__all__ = ['TinySaverMetric']
