"""The demo's summary table and results/demo_summary.json against the three results files."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from tinysaver_mm.apis import DEMO_RESULTS, demo_summary, format_demo_summary

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(name):
    with open(osp.join(ROOT, name)) as f:
        return json.load(f)


def test_the_rows_are_the_results_files_figures():
    rows = {r['task']: r for r in demo_summary(root=ROOT)['rows']}
    cls, det, seg = (_load(DEMO_RESULTS[t]) for t in ('classification', 'detection', 'segmentation'))
    c = rows['classification']
    assert (c['saver'], c['base'], c['cascade']) == (cls['saver_top1'], cls['base_top1'],
                                                     cls['cascade_top1'])
    d = rows['detection']
    assert d['cascade'] == pytest.approx(100 * det['cascade_map'])
    assert d['drop'] == pytest.approx(100 * det['map_drop'])  # the file's own drop
    s = rows['segmentation']
    assert s['drop'] == pytest.approx(seg['miou_drop_pts'])
    for task, ref in (('classification', cls), ('detection', det), ('segmentation', seg)):
        for key in ('exit_ratio', 'macs_saved_pct', 'gmacs_cascade', 'gmacs_base', 'threshold'):
            assert rows[task][key] == ref[key], (task, key)
        assert rows[task]['results'] == DEMO_RESULTS[task]


def test_the_committed_summary_is_the_results_files():
    """results/demo_summary.json (written by run_demo.sh) equals the summary of today's files."""
    committed = _load('results/demo_summary.json')
    assert committed == json.loads(json.dumps(demo_summary(root=ROOT)))


def test_the_table_prints_each_figure():
    summary = demo_summary(root=ROOT)
    text = format_demo_summary(summary)
    for r in summary['rows']:
        line = next(line for line in text.split('\n') if line.startswith(r['task']))
        for v in (f'{r["saver"]:.2f}', f'{r["cascade"]:.2f}', f'{r["drop"]:.2f}',
                  f'{r["exit_ratio"]:.3f}', f'{r["macs_saved_pct"]:.1f}%'):
            assert v in line, (v, line)
    assert 'results/demo_det.json' in text and 'work_dirs/demo_seg/' in text


def test_missing_or_incomplete_results_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='run_demo.sh'):
        demo_summary(root=str(tmp_path))
    (tmp_path / 'r.json').write_text(json.dumps(dict(saver_top1=1.0)))
    with pytest.raises(KeyError, match='base_top1'):
        demo_summary({'classification': 'r.json'}, root=str(tmp_path))
    with pytest.raises(ValueError, match='unknown demo task'):
        demo_summary({'video': 'r.json'}, root=str(tmp_path))


def test_the_tool_refuses_to_overwrite(tmp_path):
    out = tmp_path / 's.json'
    out.write_text('{}')
    proc = subprocess.run([sys.executable, 'tools/demo_summary.py', '--out', str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and '--overwrite' in proc.stderr
    proc = subprocess.run([sys.executable, 'tools/demo_summary.py', '--out', str(out),
                           '--overwrite'], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(json.dumps(demo_summary(root=ROOT)))
    assert 'classification' in proc.stdout and 'full logs' in proc.stdout


def test_get_started_shows_the_table_the_demo_prints():
    page = open(osp.join(ROOT, 'docs', 'en', 'get_started.md')).read()
    assert format_demo_summary(demo_summary(root=ROOT)) in page
