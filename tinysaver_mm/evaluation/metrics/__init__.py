"""Metrics of tinysaver_mm (mmengine root registry)."""
from .cascade_metric import TinySaverMetric

__all__ = ['TinySaverMetric']
