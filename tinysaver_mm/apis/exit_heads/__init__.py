"""Learned exit heads: fitted from records, calibrated against the simple exit rules.

One training skeleton (:func:`train_exit_head` in :mod:`.training`) and one
small task per file supplying the records, the head's inputs, the exit target
and the calibration curve: :mod:`.cls_evaluator`, :mod:`.det_evaluator`,
:mod:`.seg_evaluator`.
"""
from .cls_evaluator import CLS_TARGET_DOC, ClsExitHeadTask, train_cls_evaluator
from .det_evaluator import DET_HEADS, DET_TARGETS, DetExitHeadTask, train_evaluator
from .det_targets import TARGET_DOCS, exit_targets, fit_det_head, oric_of
from .seg_evaluator import SEG_TARGET_DOC, SegExitHeadTask, seg_policy_scores, train_seg_evaluator
from .training import (ExitHeadTask, calibrate_policies, check_head_request, fit_head, fit_size,
                       gmacs_of, head_macs, roc_auc, save_exit_head, train_exit_head,
                       write_head_summary)

__all__ = [
    'CLS_TARGET_DOC', 'ClsExitHeadTask', 'train_cls_evaluator', 'DetExitHeadTask',
    'train_evaluator', 'DET_HEADS', 'DET_TARGETS', 'TARGET_DOCS', 'exit_targets', 'fit_det_head',
    'oric_of', 'SEG_TARGET_DOC', 'SegExitHeadTask', 'seg_policy_scores',
    'train_seg_evaluator', 'ExitHeadTask', 'calibrate_policies', 'check_head_request', 'fit_head',
    'fit_size', 'gmacs_of', 'head_macs', 'roc_auc', 'save_exit_head', 'train_exit_head',
    'write_head_summary'
]
