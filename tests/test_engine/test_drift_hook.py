"""TinySaverDriftHook: warning, metric fields, on_drift='base', bad input."""
import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from tinysaver_mm.core import drift_reference
from tinysaver_mm.engine import TinySaverDriftHook
from tinysaver_mm.testing.cascade_cases import ClsCase


class _Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, msg):
        self.warnings.append(msg)


def _calib(tmp_path, model, reference_conf, **extra):
    from tinysaver_mm.utils import state_dict_fingerprint
    data = dict(rule=model.exit_rule, threshold=model.threshold,
                fingerprints=dict(saver=state_dict_fingerprint(model.saver).hex(),
                                  base=state_dict_fingerprint(model.base).hex()),
                drift=drift_reference(reference_conf, model.threshold))
    data.update(extra)
    path = tmp_path / 'calib.json'
    path.write_text(json.dumps(data))
    return str(path)


def _stream(hook, model, batches=20, n=16):
    runner = SimpleNamespace(model=model, logger=_Logger(),
                             message_hub=MessageHub.get_instance('test_drift_hook'))
    hook.before_test_epoch(runner)
    answered = []
    for i in range(batches):
        x = torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(i),
                          dtype=torch.uint8)
        before = hook.monitor.detected
        out = model.predict(x.float())
        hook.after_test_iter(runner, i, None, out)
        answered.append((before, [ds.answered_by for ds in out]))
    metrics = {}
    hook.after_test_epoch(runner, metrics)
    return runner, answered, metrics


def test_drift_warns_once_fills_fields_and_sends_later_images_to_base(tmp_path):
    case = ClsCase()
    model = case.build(threshold=0.5)
    x, _ = case.batch(64)
    live = case.saver_scores(model, x.float(), None).numpy()
    # a calibration that saw every image far more confident than the live ones
    ref = np.clip(live.max() + 0.01 + np.random.default_rng(0).random(4000) * 0.01, 0, 1)
    hook = TinySaverDriftHook(_calib(tmp_path, model, ref), level=0.01, on_drift='base')
    runner, answered, metrics = _stream(hook, model)
    assert len(runner.logger.warnings) == 1 and 'drift detected' in runner.logger.warnings[0]
    assert metrics['tinysaver/drift_detected'] == 1.0
    assert metrics['tinysaver/drift_detected_at'] == 100  # the first checkpoint
    assert metrics['tinysaver/drift_images_seen'] == 320
    after = [a for before, batch in answered if before for a in batch]
    assert after and all(a == 'base' for a in after)


def test_no_drift_on_the_reference_distribution_itself(tmp_path):
    case = ClsCase()
    model = case.build(threshold=0.5)
    # reference: the saver's own scores on many images of the stream's kind
    xs = torch.randint(0, 256, (4000, 1, 8, 8), generator=torch.Generator().manual_seed(99),
                       dtype=torch.uint8)
    ref = case.saver_scores(model, xs.float(), None).numpy()
    hook = TinySaverDriftHook(_calib(tmp_path, model, ref), level=0.01, on_drift='base')
    runner, answered, metrics = _stream(hook, model)
    assert runner.logger.warnings == [] and metrics['tinysaver/drift_detected'] == 0.0
    assert metrics['tinysaver/drift_detected_at'] == -1


def test_route_to_last_sends_every_image_to_base_but_keeps_saver_scores():
    case = ClsCase()
    model = case.build(threshold=0.0)
    x, _ = case.batch(8)
    model.route_to_last = True
    out = model.predict(x.float())
    assert all(ds.answered_by == 'base' for ds in out)
    base_alone = case.alone(model, 'base', x.float(), None)
    assert all(case.same(ds.pred_score, b) for ds, b in zip(out, base_alone))
    scores = case.saver_scores(model, x.float(), None)
    assert torch.allclose(torch.tensor([float(ds.exit_score) for ds in out]), scores, atol=1e-6)


@pytest.mark.parametrize('level', [0, 1, 1.2, -0.5])
def test_level_outside_open_interval_refused(tmp_path, level):
    model = ClsCase().build(threshold=0.5)
    with pytest.raises(ValueError, match='level'):
        TinySaverDriftHook(_calib(tmp_path, model, np.ones(10) * 0.9), level=level)


def test_calibration_of_another_cascade_or_rule_refused(tmp_path):
    model = ClsCase().build(threshold=0.5)
    runner = SimpleNamespace(model=model, logger=_Logger(),
                             message_hub=MessageHub.get_instance('test_drift_hook'))
    bad_fp = _calib(tmp_path, model, np.ones(10) * 0.9,
                    fingerprints=dict(saver='00' * 32, base=None))
    with pytest.raises(ValueError, match='another saver'):
        TinySaverDriftHook(bad_fp).before_test_epoch(runner)
    bad_rule = _calib(tmp_path, model, np.ones(10) * 0.9, rule='entropy')
    with pytest.raises(ValueError, match="'entropy'"):
        TinySaverDriftHook(bad_rule).before_test_epoch(runner)
    no_ref = tmp_path / 'old.json'
    no_ref.write_text(json.dumps(dict(threshold=0.5)))
    with pytest.raises(ValueError, match='no "drift"'):
        TinySaverDriftHook(str(no_ref))
    with pytest.raises(ValueError, match='on_drift'):
        TinySaverDriftHook(_calib(tmp_path, model, np.ones(10)), on_drift='saver')


def test_cusum_test_alarms_where_the_core_cusum_does(tmp_path):
    from tinysaver_mm.core.cusum import ExitCUSUM
    case = ClsCase()
    model = case.build(threshold=0.5)
    ref = np.r_[np.full(50, 0.1), np.full(950, 0.9)]  # calibrated exit ratio 0.95
    hook = TinySaverDriftHook(_calib(tmp_path, model, ref), test='cusum', on_drift='base',
                              shift=0.1, false_alarms_per_10k=10)
    runner = SimpleNamespace(model=model, logger=_Logger(),
                             message_hub=MessageHub.get_instance('test_drift_hook'))
    hook.before_test_epoch(runner)
    exited = []
    for i in range(20):
        x = torch.randint(0, 256, (16, 1, 8, 8), generator=torch.Generator().manual_seed(i),
                          dtype=torch.uint8)
        out = model.predict(x.float())
        hook.after_test_iter(runner, i, None, out)
        exited += [float(ds.exit_score) >= 0.5 for ds in out]
    metrics = {}
    hook.after_test_epoch(runner, metrics)
    replay = ExitCUSUM(0.95, shift=0.1, false_alarms_per_10k=10)
    replay.update(exited)
    assert replay.alarms, 'the live exit ratio should be far from 0.95'
    assert metrics['tinysaver/drift_detected_at'] == replay.alarms[0]['at']
    assert metrics['tinysaver/drift_images_seen'] == 320
    assert model.route_to_last is True
    assert any('CUSUM' in w for w in runner.logger.warnings)
    with pytest.raises(ValueError, match="test='wald'"):
        TinySaverDriftHook(_calib(tmp_path, model, ref), test='wald')
