"""cusum_study on synthetic records: a whole shift is caught fast, the design is reported."""
import json

import numpy as np

from tinysaver_mm.apis.calibrate import calibrate
from tinysaver_mm.apis.studies import cusum_study
from tinysaver_mm.core.cusum import ExitCUSUM
from tinysaver_mm.testing.cls_records import pair, write


def test_cusum_study_catches_a_shift_sooner_than_the_checkpoint_test(tmp_path):
    for d in ('cal', 'clean', 'shifted'):
        (tmp_path / d).mkdir()
    s, b = pair(tmp_path / 'cal', n=2000, seed=0)
    cal = str(tmp_path / 'calib.json')
    r = calibrate(s, b, 'exit', exit_ratio=0.5, out=cal)
    cs, cb = pair(tmp_path / 'clean', n=2000, seed=1)
    rng = np.random.default_rng(2)
    flat = rng.dirichlet(np.ones(10) * 5, size=2000)  # unsure saver: few exits
    labels = rng.integers(0, 10, 2000)
    ss = write(tmp_path / 'shifted' / 's.npz', flat, labels, 10)
    sb = write(tmp_path / 'shifted' / 'b.npz', flat, labels, 100)
    out = tmp_path / 'study.json'
    res = cusum_study(cal, {'clean': (cs, cb), 'shifted': (ss, sb)}, shares=(1.0, ),
                      false_alarms_per_10k=0.1, clean_before=2000, horizon=5000, streams=5,
                      clean_images=200000, out=str(out))
    assert json.loads(out.read_text())['rows'] == res['rows']
    design = ExitCUSUM(r['drift']['exit_ratio'], 0.05, 0.1)
    assert (res['cusum']['h_up'], res['cusum']['h_down']) == (design.h_up, design.h_down)
    assert res['clean_false_alarms_per_10k'] == 1e4 * res['clean_false_alarms'] / 200000
    row = res['rows'][0]
    assert row['exit_ratio_after'] < 0.1
    for test in ('cusum', 'checkpoints'):  # every stream: caught, or alarmed too early
        assert row[test]['detected_pct'] + row[test]['alarm_before_change_pct'] == 100
    assert row['cusum']['detected_pct'] >= 80
    assert row['cusum']['median_delay'] < row['checkpoints']['median_delay']
