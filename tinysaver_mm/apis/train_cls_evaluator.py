"""Train a classification saver's learned exit score from records; compare the rules."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import (CONFIDENCE_RULES, AccuracyDropCalibrator, confidence_scores,
                               macs_saved_pct)
from tinysaver_mm.core.cls_features import cls_exit_features
from tinysaver_mm.utils.report import write_json
from .calibrate import load_pair
from .exit_head_training import (check_head_request, fit_head, fit_size, head_macs, roc_auc,
                                 save_exit_head)

__all__ = ['train_cls_evaluator', 'CLS_TARGET_DOC']

CLS_TARGET_DOC = ("exit target = 1 where the saver's label is as good as the base's (the "
                  'saver is right, or the base is wrong too)')


def _split(saver: str, base: str) -> dict:
    """Aligned records of one split: probabilities, correctness, GMACs."""
    d = load_pair(saver, base, 'max_prob')
    return dict(saver_correct=d['saver_correct'], base_correct=d['base_correct'],
                probs=torch.from_numpy(d['saver_probs'].astype(np.float32)),
                gmacs_saver=d['gmacs_saver'], gmacs_base=d['gmacs_base'],
                fingerprint=d['meta'].get('fingerprint'), settings=d['meta'].get('settings'),
                test_pipeline=d['meta'].get('test_pipeline'))


def _operating_point(score: np.ndarray, d: dict, threshold: float, gmacs_extra: float) -> dict:
    exits = score >= threshold
    acc = np.where(exits, d['saver_correct'], d['base_correct']).mean()
    gmacs = d['gmacs_saver'] + gmacs_extra + (1.0 - exits.mean()) * d['gmacs_base']
    return dict(threshold=float(threshold), exit_ratio=float(exits.mean()),
                top1_drop_pts=100 * float(d['base_correct'].mean() - acc),
                macs_saved_pct=macs_saved_pct(gmacs, d['gmacs_base']))


def train_cls_evaluator(saver: str, base: str, out: str, max_drop: float = 0.001,
                        calib_fraction: float = 0.5, topk: int = 5, hidden: int = 32,
                        steps: int = 300, weight_decay: float = 0.01, seed: int = 0,
                        saver_test: Optional[str] = None, base_test: Optional[str] = None,
                        results: Optional[str] = None, overwrite: bool = False) -> Dict:
    """Learn a classification saver's exit score and calibrate it with the simple rules.

    The holdout records of saver and base (``tools/record.py --split holdout``)
    are split in order: the first ``1 - calib_fraction`` fit the head on
    :data:`CLS_TARGET_DOC`, the rest calibrate every policy (the head and each
    rule of ``CONFIDENCE_RULES``) to the most exits with a top-1 drop of at
    most ``max_drop`` there. With test records, each policy is measured on
    them at its calibrated threshold and, at equal drop, at the threshold a
    calibrator fitted on the test records themselves picks (an oracle choice,
    only to compare the signals).

    Args:
        saver, base (str): Holdout records of the saver and the base.
        out (str): Evaluator checkpoint (weights, head config, threshold,
            the saver's records).
        max_drop (float): Allowed top-1 drop (0.001 = 0.1 point).
        calib_fraction (float): Share of the records kept for calibration.
        topk (int): Sorted probabilities the head reads.
        hidden (int): Hidden width of the head.
        steps (int): Training steps.
        weight_decay (float): Adam weight decay.
        seed (int): Random seed.
        saver_test, base_test (str, optional): Test records of both.
        results (str, optional): Also write the summary here (JSON).
        overwrite (bool): Replace ``out``/``results`` when they exist.

    Returns:
        dict: Sizes, AUC per policy on the calibration records and, per
        policy, its calibrated threshold and figures (and on test).

    Raises:
        ValueError: On bad arguments, too few records or misaligned records.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    from tinysaver_mm.models.classifiers import TinySaverClsEvaluatorHead
    check_head_request(saver, out, results, overwrite, calib_fraction)
    if (saver_test is None) != (base_test is None):
        raise ValueError('give both saver_test and base_test, or neither.')
    calibrator = AccuracyDropCalibrator(max_drop)
    whole = _split(saver, base)
    n = len(whole['probs'])
    n_fit = fit_size(n, calib_fraction)
    fit, cal = slice(0, n_fit), slice(n_fit, n)
    head = TinySaverClsEvaluatorHead(whole['probs'].size(1), topk, hidden)
    x = cls_exit_features(whole['probs'], topk)
    good = (whole['saver_correct'] >= whole['base_correct']).astype(np.float32)
    losses = fit_head(head, x[fit], torch.from_numpy(good[fit]), steps=steps,
                      weight_decay=weight_decay, seed=seed)
    if not whole['fingerprint']:
        raise ValueError(f'{saver!r} has no saver fingerprint (recorded by an older '
                         'tools/record.py); re-record it so the head is bound to its saver.')
    head.set_trained_for(bytes.fromhex(whole['fingerprint']))
    extra = head_macs(head) / 1e9
    splits = {'calib': dict(whole, **{k: whole[k][cal]
                                      for k in ('saver_correct', 'base_correct', 'probs')})}
    if saver_test:
        splits['test'] = _split(saver_test, base_test)
    scores = {name: {r: confidence_scores(d['probs'], r).double().numpy()
                     for r in CONFIDENCE_RULES} for name, d in splits.items()}
    for name, d in splits.items():
        scores[name]['evaluator'] = head.score(head.inputs(d['probs'])).double().numpy()
    policies = {}
    for rule, score in scores['calib'].items():
        d, pays = splits['calib'], extra if rule == 'evaluator' else 0.0
        fitted = calibrator.fit(score, d['saver_correct'], d['base_correct'])
        row = dict(threshold=fitted.threshold_,
                   calib=_operating_point(score, d, fitted.threshold_, pays))
        if 'test' in splits:
            t, ts = splits['test'], scores['test'][rule]
            row['test'] = _operating_point(ts, t, fitted.threshold_, pays)
            best = AccuracyDropCalibrator(max_drop).fit(ts, t['saver_correct'],
                                                        t['base_correct'])
            row['test_equal_drop'] = _operating_point(ts, t, best.threshold_, pays)
        policies[rule] = row
    head_cfg = dict(type='TinySaverClsEvaluatorHead', num_classes=head.num_classes, topk=topk,
                    hidden_channels=hidden)
    summary = dict(records=dict(saver=saver, base=base, saver_test=saver_test,
                                base_test=base_test),
                   target=CLS_TARGET_DOC, max_drop=max_drop, num_fit=n_fit,
                   num_calib=n - n_fit, exit_target_share_fit=float(good[fit].mean()),
                   final_loss=float(losses[-1]), gmacs_evaluator=extra,
                   auc_calib={k: roc_auc(good[cal], v) for k, v in scores['calib'].items()},
                   policies=policies, head_cfg=head_cfg, checkpoint=out)
    save_exit_head(out, head, dict(head_cfg=head_cfg, saver_fingerprint=whole['fingerprint'],
                                   saver_settings=whole['settings'],
                                   test_pipeline=whole['test_pipeline'],
                                   threshold=policies['evaluator']['threshold'],
                                   records=saver, target=CLS_TARGET_DOC))
    if results:
        write_json(summary, results)
    return summary

