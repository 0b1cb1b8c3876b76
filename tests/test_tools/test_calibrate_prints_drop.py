"""tools/calibrate.py prints the drop at its chosen threshold with the 95 % interval,
equal to the interval computed from the record arrays by hand."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np

from tinysaver_mm.core import paired_drop_interval
from tinysaver_mm.testing import cls_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_calibrate_prints_the_drop_interval(tmp_path):
    s, b = cls_records.pair(tmp_path, n=1200, seed=3)
    out = tmp_path / 'cal.json'
    proc = subprocess.run([sys.executable, 'tools/calibrate.py', s, b, '--target', 'drop',
                           '--epsilon', '0.01', '--out', str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    t = json.load(open(out))['threshold']
    saver, base = np.load(s), np.load(b)
    base_ok = base['pred'] == base['labels']
    casc_ok = np.where(saver['conf_max_prob'] >= t, saver['pred'] == saver['labels'], base_ok)
    ref = paired_drop_interval(base_ok, casc_ok)
    m = re.search(r'top-1 drop vs the base: ([+-][\d.]+) points, 95 % interval '
                  r'\[([+-][\d.]+), ([+-][\d.]+)\].*?(\d+) images; (\d+) lost, (\d+) gained',
                  proc.stdout)
    assert m, proc.stdout
    drop, low, high = (float(g) for g in m.groups()[:3])
    assert (drop, low, high) == tuple(round(100 * ref[k], 2) for k in ('drop', 'low', 'high'))
    assert tuple(int(g) for g in m.groups()[3:]) == (1200, ref['lost'], ref['gained'])
    assert low <= drop <= high
