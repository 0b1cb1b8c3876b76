"""Train a classification saver's learned exit score from records; compare the rules."""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import (CONFIDENCE_RULES, AccuracyDropCalibrator, confidence_scores,
                               macs_saved_pct)
from tinysaver_mm.core.cls_features import cls_exit_features
from ..records import load_pair
from .training import ExitHeadTask, head_macs, roc_auc, train_exit_head

__all__ = ['ClsExitHeadTask', 'train_cls_evaluator', 'CLS_TARGET_DOC']

CLS_TARGET_DOC = ("exit target = 1 where the saver's label is as good as the base's (the "
                  'saver is right, or the base is wrong too)')


def _split(saver: str, base: str) -> dict:
    """Aligned records of one split: probabilities, correctness, GMACs."""
    d = load_pair(saver, base, 'max_prob')
    return dict(saver_correct=d['saver_correct'], base_correct=d['base_correct'],
                probs=torch.from_numpy(d['saver_probs'].astype(np.float32)),
                gmacs_saver=d['gmacs_saver'], gmacs_base=d['gmacs_base'],
                fingerprint=d['meta'].get('fingerprint'))


def _operating_point(score: np.ndarray, d: dict, threshold: float, gmacs_extra: float) -> dict:
    exits = score >= threshold
    acc = np.where(exits, d['saver_correct'], d['base_correct']).mean()
    gmacs = d['gmacs_saver'] + gmacs_extra + (1.0 - exits.mean()) * d['gmacs_base']
    return dict(threshold=float(threshold), exit_ratio=float(exits.mean()),
                top1_drop_pts=100 * float(d['base_correct'].mean() - acc),
                macs_saved_pct=macs_saved_pct(gmacs, d['gmacs_base']))


class ClsExitHeadTask(ExitHeadTask):
    """Classification: the head reads the saver's sorted probabilities; the target is
    :data:`CLS_TARGET_DOC`; every policy is calibrated to a top-1 drop (and measured
    on test records when given).

    Args:
        saver, base (str): Holdout records of the saver and the base.
        max_drop (float): Allowed top-1 drop (0.001 = 0.1 point).
        topk (int): Sorted probabilities the head reads.
        hidden (int): Hidden width of the head.
        saver_test, base_test (str, optional): Test records of both.
    """
    target_doc = CLS_TARGET_DOC

    def __init__(self, saver: str, base: str, max_drop: float, topk: int, hidden: int,
                 saver_test: Optional[str] = None, base_test: Optional[str] = None) -> None:
        super().__init__(saver)
        if (saver_test is None) != (base_test is None):
            raise ValueError('give both saver_test and base_test, or neither.')
        self.calibrator = AccuracyDropCalibrator(max_drop)
        self.base, self.max_drop, self.topk, self.hidden = base, max_drop, topk, hidden
        self.saver_test, self.base_test = saver_test, base_test

    def load(self) -> int:
        self.whole = _split(self.records, self.base)
        if not self.whole['fingerprint']:
            raise ValueError(f'{self.records!r} has no saver fingerprint (recorded by an older '
                             'tools/record.py); re-record it so the head is bound to its saver.')
        self.fingerprint = self.whole['fingerprint']
        self.good = (self.whole['saver_correct'] >= self.whole['base_correct']).astype(np.float32)
        return len(self.whole['probs'])

    def make_head(self) -> torch.nn.Module:
        from tinysaver_mm.models.classifiers import TinySaverClsEvaluatorHead
        return TinySaverClsEvaluatorHead(self.whole['probs'].size(1), self.topk, self.hidden)

    def inputs(self, head) -> torch.Tensor:
        return cls_exit_features(self.whole['probs'], self.topk)

    def target(self, rows: slice) -> torch.Tensor:
        self.fit_rows = rows
        return torch.from_numpy(self.good[rows])

    def calibrate(self, head, x: torch.Tensor, rows: slice) -> Dict[str, dict]:
        whole, cal = self.whole, rows
        self.extra = extra = head_macs(head) / 1e9
        splits = {'calib': dict(whole, **{k: whole[k][cal]
                                          for k in ('saver_correct', 'base_correct', 'probs')})}
        if self.saver_test:
            splits['test'] = _split(self.saver_test, self.base_test)
        scores = {name: {r: confidence_scores(d['probs'], r).double().numpy()
                         for r in CONFIDENCE_RULES} for name, d in splits.items()}
        for name, d in splits.items():
            scores[name]['evaluator'] = head.score(head.inputs(d['probs'])).double().numpy()
        self.auc_calib = {k: roc_auc(self.good[cal], v) for k, v in scores['calib'].items()}
        policies = {}
        for rule, score in scores['calib'].items():
            d, pays = splits['calib'], extra if rule == 'evaluator' else 0.0
            fitted = self.calibrator.fit(score, d['saver_correct'], d['base_correct'])
            row = dict(threshold=fitted.threshold_,
                       calib=_operating_point(score, d, fitted.threshold_, pays))
            if 'test' in splits:
                t, ts = splits['test'], scores['test'][rule]
                row['test'] = _operating_point(ts, t, fitted.threshold_, pays)
                best = AccuracyDropCalibrator(self.max_drop).fit(ts, t['saver_correct'],
                                                                 t['base_correct'])
                row['test_equal_drop'] = _operating_point(ts, t, best.threshold_, pays)
            policies[rule] = row
        return policies

    def head_cfg(self, head) -> dict:
        return dict(type='TinySaverClsEvaluatorHead', num_classes=head.num_classes,
                    topk=self.topk, hidden_channels=self.hidden)

    def summary(self, fitted: dict, policies: Dict[str, dict], head_cfg: dict,
                out: str) -> dict:
        return dict(records=dict(saver=self.records, base=self.base, saver_test=self.saver_test,
                                 base_test=self.base_test),
                    target=CLS_TARGET_DOC, max_drop=self.max_drop, num_fit=fitted['num_fit'],
                    num_calib=fitted['num_calib'],
                    exit_target_share_fit=float(self.good[self.fit_rows].mean()),
                    final_loss=float(fitted['losses'][-1]), gmacs_evaluator=self.extra,
                    auc_calib=self.auc_calib, policies=policies, head_cfg=head_cfg,
                    checkpoint=out)


def train_cls_evaluator(saver: str, base: str, out: str, max_drop: float = 0.001,
                        calib_fraction: float = 0.5, topk: int = 5, hidden: int = 32,
                        steps: int = 300, weight_decay: float = 0.01, seed: int = 0,
                        saver_test: Optional[str] = None, base_test: Optional[str] = None,
                        results: Optional[str] = None, overwrite: bool = False) -> Dict:
    """Learn a classification saver's exit score and calibrate it with the simple rules.

    The holdout records of saver and base (``tools/record.py --split holdout``)
    are split in order (:func:`train_exit_head`): the first ``1 - calib_fraction`` fit the head on
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
    task = ClsExitHeadTask(saver, base, max_drop, topk, hidden, saver_test, base_test)
    return train_exit_head(task, out, calib_fraction, steps, weight_decay, seed, results,
                           overwrite)
