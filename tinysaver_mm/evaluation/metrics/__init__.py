"""Metrics of tinysaver_mm (mmengine root registry)."""
from .cascade_metric import TinySaverMetric
from .det_report_metric import TinySaverDetReport
from .seg_report_metric import TinySaverSegReport

__all__ = ['TinySaverMetric', 'TinySaverDetReport', 'TinySaverSegReport']
