"""Old import path of the multi-stage cascade maths; they live in
:mod:`tinysaver_mm.core.calibration.multistage_drop` now."""
from .calibration.multistage_drop import (MultiStageDropCalibrator,
                                          evaluate_cascade,
                                          joint_threshold_search)

__all__ = ['MultiStageDropCalibrator', 'evaluate_cascade', 'joint_threshold_search']
