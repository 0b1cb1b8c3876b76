"""Evaluators of tinysaver_mm (mmengine root registry)."""
from .cascade_evaluator import TinySaverEvaluator

__all__ = ['TinySaverEvaluator']
