"""Hook that tests whether the live data drifts from the cascade's calibration."""
import json
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from tinysaver_mm.core import DriftMonitor, check_level
from tinysaver_mm.core.cusum import ExitCUSUM

__all__ = ['TinySaverDriftHook']

ON_DRIFT = (None, 'base')
TESTS = ('checkpoints', 'cusum')


@HOOKS.register_module()
class TinySaverDriftHook(Hook):
    """Compare the live exit ratio and saver confidences with the calibration's.

    Runs :class:`tinysaver_mm.core.DriftMonitor` (Fisher exact test on the exit
    ratio and a sketch two-sample KS test on confidences, at doubling
    checkpoints, false-alarm probability ``level`` over the whole stream) on
    every image of a validation/test epoch, in order. On detection it warns
    once in the log and, with ``on_drift='base'``, makes the cascade send every
    image of the following batches to its last stage (the saver still runs,
    so its confidence keeps being monitored). After the epoch it adds to the metrics
    ``tinysaver/drift_detected`` (0/1), ``tinysaver/drift_exit_pvalue``,
    ``tinysaver/drift_ks``, ``tinysaver/drift_ks_pvalue`` (the statistics at the
    last checkpoint), ``tinysaver/drift_images_seen`` and
    ``tinysaver/drift_detected_at`` (image count at detection, -1 if none).

    Args:
        calibration (str): The calibration JSON of ``tools/calibrate.py``.
        level (float): False-alarm level in (0, 1). Defaults to 0.01.
        on_drift (str, optional): ``'base'`` to route every image to the base
            once drift is detected. Defaults to None (warn only).
        first (int): First checkpoint in images (then doubling). Defaults to 100.
        test (str): ``'checkpoints'`` (the default: everything seen since the
            start, tested at doubling checkpoints, ``level`` over the whole
            stream) or ``'cusum'`` (:class:`tinysaver_mm.core.cusum.ExitCUSUM`,
            a two-sided CUSUM on the exit stream that forgets the past and
            suits long streams; ``level`` is then unused and its false alarms are
            ``false_alarms_per_10k`` per 10,000 clean images).
        shift (float): With ``'cusum'``: the exit-ratio change it detects
            fastest. Defaults to 0.05.
        false_alarms_per_10k (float): With ``'cusum'``: the expected false
            alarms per 10,000 clean images. Defaults to 0.1.

    Raises:
        ValueError: On a level outside (0, 1), an unknown ``on_drift``, or a
            calibration file without a drift reference.
        FileNotFoundError: If the calibration file does not exist.
    """

    priority = 'ABOVE_NORMAL'  # before LoggerHook, which logs the message hub's fields

    def __init__(self, calibration: str, level: float = 0.01, on_drift: Optional[str] = None,
                 first: int = 100, test: str = 'checkpoints', shift: float = 0.05,
                 false_alarms_per_10k: float = 0.1):
        self.level = check_level(level)
        if test not in TESTS:
            raise ValueError(f'test={test!r} is unknown; use one of {list(TESTS)}.')
        self.test, self.shift, self.false_alarms_per_10k = test, shift, false_alarms_per_10k
        if on_drift not in ON_DRIFT:
            raise ValueError(f'on_drift={on_drift!r} is unknown; use None (warn only) or '
                             "'base' (every image to the base after drift).")
        if not osp.isfile(calibration):
            raise FileNotFoundError(f'calibration={calibration!r}: no such file; give the '
                                    'JSON written by tools/calibrate.py --out.')
        with open(calibration) as f:
            self.calib = json.load(f)
        if 'drift' not in self.calib:
            raise ValueError(f'calibration={calibration!r} has no "drift" reference (written '
                             'by tools/calibrate.py since the drift signal); calibrate again.')
        self.path, self.on_drift, self.first = calibration, on_drift, first
        self.monitor: Optional[DriftMonitor] = None

    @staticmethod
    def _cascade(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'stage_names'):
            raise TypeError(f'TinySaverDriftHook needs a TinySaver cascade, but the model is '
                            f'{type(model).__name__}; remove the hook from custom_hooks.')
        return model

    def check_cascade(self, model) -> None:
        """Refuse a calibration of another exit rule, threshold or pair of stages.

        Raises:
            ValueError: Naming what differs.
        """
        self._check(model)

    def _check(self, model) -> None:
        """Refuse a calibration of another exit rule, threshold or pair of stages."""
        from tinysaver_mm.utils import cascade_fingerprints
        c = self.calib
        if c.get('rule') not in (None, model.exit_rule):
            raise ValueError(f'calibration={self.path!r} was fitted on the {c["rule"]!r} '
                             f'confidence but the cascade exits by {model.exit_rule!r}.')
        thr = model.threshold if not isinstance(model.threshold, list) else model.threshold[0]
        if abs(float(c['drift']['threshold']) - float(thr)) > 1e-9:
            raise ValueError(f'calibration={self.path!r} holds threshold '
                             f'{c["drift"]["threshold"]!r} but the cascade uses {thr!r}; set '
                             f"model.threshold='{self.path}' so both come from one file.")
        names = model.stage_names  # calibrated on the first and last stages' records
        own_fps = cascade_fingerprints(model, with_evaluator=False)
        for role, fp in (c.get('fingerprints') or {}).items():
            own = own_fps[names[0] if role == 'saver' else names[-1]]
            if fp is not None and fp != own:
                raise ValueError(f'calibration={self.path!r} was made with another {role} '
                                 f'(fingerprint {fp[:12]}…, this cascade\'s {own[:12]}…); '
                                 'record and calibrate this cascade again.')

    def _start(self, runner) -> None:
        model = self._cascade(runner)
        self._check(model)
        model.route_to_last = False
        self.monitor = DriftMonitor(self.calib['drift'], self.level, self.first)
        self.cusum = None if self.test != 'cusum' else ExitCUSUM(
            self.calib['drift']['exit_ratio'], self.shift, self.false_alarms_per_10k)

    def before_val_epoch(self, runner) -> None:
        """Start a fresh stream."""
        self._start(runner)

    def before_test_epoch(self, runner) -> None:
        """Start a fresh stream."""
        self._start(runner)

    def _after_iter(self, runner, outputs) -> None:
        thr = self.monitor.reference['threshold']
        conf = np.array([float(ds.exit_score) for ds in outputs])
        if self.cusum is not None:
            self._after_iter_cusum(runner, conf >= thr)
            return
        was = self.monitor.detected
        self.monitor.update(conf, conf >= thr)  # NaN >= thr is False: never exits
        if self.monitor.detected and not was:
            st = self.monitor.statistic
            runner.logger.warning(
                f'TinySaver drift detected at level {self.level} after '
                f'{self.monitor.detected_at} images: live exit ratio {st["exit_ratio"]:.3f} vs '
                f'{self.monitor.reference["exit_ratio"]:.3f} calibrated (Fisher p='
                f'{st["exit_pvalue"]:.3g}), confidence KS {st["ks"]:.3f} (p={st["ks_pvalue"]:.3g}),'
                f' checkpoint level {st["level_spent"]:.3g}.' + (
                    ' From now on every image goes to the base (on_drift=base).'
                    if self.on_drift == 'base' else ''))
            if self.on_drift == 'base':
                self._cascade(runner).route_to_last = True

    def _after_iter_cusum(self, runner, exited: np.ndarray) -> None:
        was = bool(self.cusum.alarms)
        for alarm in self.cusum.update(exited):
            runner.logger.warning(
                f'TinySaver drift (CUSUM on the exit stream) after {alarm["at"]} images: the '
                f'exit ratio went {alarm["side"]} (since the last restart '
                f'{alarm["exit_ratio_since_restart"]:.3f} vs {self.cusum.p0:.3f} calibrated; '
                f'{self.false_alarms_per_10k} false alarms per 10,000 clean images by design).'
                + (' From now on every image goes to the base (on_drift=base).'
                   if self.on_drift == 'base' and not was else ''))
        if self.cusum.alarms and not was and self.on_drift == 'base':
            self._cascade(runner).route_to_last = True

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        """Feed the batch's saver confidences to the monitor."""
        self._after_iter(runner, outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        """Feed the batch's saver confidences to the monitor."""
        self._after_iter(runner, outputs)

    def _fields(self, runner, metrics, mode: str) -> None:
        """Add the drift fields to the epoch's metrics and to the logged epoch line.

        mmengine's ``RuntimeInfoHook`` (priority VERY_HIGH) has already copied
        the metrics into the message hub, where ``LoggerHook`` reads the
        epoch line and the JSON log from; the fields go there too, as it
        would have put them (``{mode}/{key}``).
        """
        if self.cusum is not None:
            c = self.cusum
            fields = {'tinysaver/drift_detected': float(bool(c.alarms)),
                      'tinysaver/drift_alarms': len(c.alarms),
                      'tinysaver/drift_images_seen': c.seen,
                      'tinysaver/drift_detected_at': c.alarms[0]['at'] if c.alarms else -1}
        else:
            m, st = self.monitor, self.monitor.statistic
            fields = {'tinysaver/drift_detected': float(m.detected),
                      'tinysaver/drift_exit_pvalue': st['exit_pvalue'],
                      'tinysaver/drift_ks': st['ks'],
                      'tinysaver/drift_ks_pvalue': st['ks_pvalue'],
                      'tinysaver/drift_images_seen': m.seen,
                      'tinysaver/drift_detected_at': -1 if m.detected_at is None
                      else m.detected_at}
        if metrics is not None:
            metrics.update(fields)
        for key, value in fields.items():  # floats: the log processor averages scalars
            runner.message_hub.update_scalar(f'{mode}/{key}', float(value))

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Add the drift fields to the epoch's metrics and log."""
        self._fields(runner, metrics, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Add the drift fields to the epoch's metrics and log."""
        self._fields(runner, metrics, 'test')
