"""Metrics of tinysaver_mm (mmengine root registry)."""
from .cascade_metric import TinySaverMetric
from .det_report_metric import TinySaverDetReport

__all__ = ['TinySaverMetric', 'TinySaverDetReport']
