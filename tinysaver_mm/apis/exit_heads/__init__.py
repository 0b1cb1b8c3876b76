"""Learned exit heads: fitted from records, calibrated against the simple exit rules."""
from .cls_evaluator import CLS_TARGET_DOC, train_cls_evaluator
from .det_evaluator import train_evaluator
from .seg_evaluator import SEG_TARGET_DOC, seg_policy_scores, train_seg_evaluator
from .training import (calibrate_policies, check_head_request, fit_head, fit_size, gmacs_of,
                       head_macs, roc_auc, save_exit_head, write_head_summary)

__all__ = [
    'CLS_TARGET_DOC', 'train_cls_evaluator', 'train_evaluator', 'SEG_TARGET_DOC',
    'seg_policy_scores', 'train_seg_evaluator', 'calibrate_policies', 'check_head_request',
    'fit_head', 'fit_size', 'gmacs_of', 'head_macs', 'roc_auc', 'save_exit_head',
    'write_head_summary'
]
