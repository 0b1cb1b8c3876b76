"""Figures of tinysaver_mm (matplotlib is imported only when one is drawn)."""
from .plots import (plot_calibration_curve, plot_policy_curves,
                    plot_saver_candidates, plot_shift_study, plot_speedup,
                    plot_top1_vs_gmacs)

__all__ = ['plot_calibration_curve', 'plot_policy_curves', 'plot_saver_candidates',
           'plot_shift_study', 'plot_speedup', 'plot_top1_vs_gmacs']
