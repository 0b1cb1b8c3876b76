"""drift_study on synthetic records: figures vs brute force, calibration stores the reference."""
import json

import numpy as np

from tinysaver_mm.apis.calibrate import calibrate
from tinysaver_mm.apis.studies import drift_study
from tinysaver_mm.apis.records import load_records
from tinysaver_mm.testing.cls_records import pair


def test_calibration_json_holds_drift_reference_and_study_matches_brute_force(tmp_path):
    (tmp_path / 'cal').mkdir()
    (tmp_path / 'test').mkdir()
    s, b = pair(tmp_path / 'cal', n=2000, seed=0)
    out = str(tmp_path / 'calib.json')
    r = calibrate(s, b, 'exit', exit_ratio=0.5, out=out)
    conf = load_records(s)['conf_max_prob']
    d = r['drift']
    assert d['count'] == 2000 and d['exits'] == int(np.sum(conf >= r['threshold']))
    assert r['fingerprints']['saver'] == load_records(s)['meta'].get('fingerprint')
    ts, tb = pair(tmp_path / 'test', n=1500, seed=1)
    res = drift_study(out, {'clean': (ts, tb)}, level=0.05, streams=20,
                      out=str(tmp_path / 'study.json'))
    row = res['rows'][0]
    t = load_records(ts)
    ex = t['conf_max_prob'] >= r['threshold']
    assert row['exit_ratio'] == ex.mean()
    assert np.isclose(row['base_top1_pct'], 100 * np.mean(load_records(tb)['pred'] == t['labels']))
    assert 0 <= res['clean_false_alarm_rate'] <= 1
    assert json.load(open(tmp_path / 'study.json'))['rows'][0]['corruption'] == 'clean'
    assert (tmp_path / 'study.png').is_file()
