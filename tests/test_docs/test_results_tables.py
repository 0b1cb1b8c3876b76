"""Figures cannot drift: every number in a table of README.md and configs/*/README.md is
read back from the results file it comes from and compared at its printed precision.

A table cell holding one number must be covered by an expectation below (row = the
first cell's text, column = the header's); an uncovered figure fails, so a table cannot
grow a figure nobody checks.
"""
import glob
import json
import os.path as osp

import pytest

from tinysaver_mm.testing.markdown import figure, tables

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _json(name: str) -> dict:
    with open(osp.join(ROOT, 'results', name)) as f:
        return json.load(f)


def _esn_row(method: str, target: float = 0.1) -> dict:
    return next(r for r in _json('esn_fashion_mnist.json')['rows']
                if r['method'] == method and r['target_drop_pts'] == target)


def _policies(name: str) -> dict:
    return {p['policy']: p for p in _json(name)['policies']}


def _readme() -> dict:
    cls, det, seg = (_json(f'demo_{t}.json') for t in ('fashion_mnist', 'det', 'seg'))
    esn = _esn_row('esn')
    return {
        'resnet18-w4s2 → resnet18-w16': dict(
            saver=cls['saver_top1'], base=cls['base_top1'], cascade=cls['cascade_top1'],
            drop=cls['base_top1'] - cls['cascade_top1'], **{
                'MACs saved': cls['macs_saved_pct'], 'exit ratio': cls['exit_ratio']}),
        'RTMDet w0.125 → w0.375 + evaluator': dict(
            saver=100 * det['saver_map'], base=100 * det['base_map'],
            cascade=100 * det['cascade_map'], drop=100 * det['map_drop'], **{
                'MACs saved': det['macs_saved_pct'], 'exit ratio': det['exit_ratio']}),
        'FCN → DeepLabV3 + evaluator': dict(
            saver=seg['saver_miou'], base=seg['base_miou'], cascade=seg['cascade_miou'],
            drop=seg['miou_drop_pts'], **{
                'MACs saved': seg['macs_saved_pct'], 'exit ratio': seg['exit_ratio']}),
        'ESN on resnet18-w4s2 → resnet18-w16': dict(
            base=_json('esn_fashion_mnist.json')['base_test_top1'], cascade=esn['test_top1'],
            drop=esn['test_top1_drop_pts'], **{
                'MACs saved': esn['macs_saved_pct'], 'exit ratio': esn['exit_shares']['saver']}),
    }


def _fashion_mnist() -> dict:
    cls = _json('demo_fashion_mnist.json')
    three = _json('multistage_fashion_mnist.json')
    three_row = three['saver>mid>base']
    rows = {
        'saver resnet18-w4s2 alone': {'top-1 %': cls['saver_top1'],
                                      'GMACs / image': cls['gmacs_saver']},
        'base resnet18-w16 alone': {'top-1 %': cls['base_top1'], 'GMACs / image': cls['gmacs_base']},
        'demo cascade (tinysaver_resnet18-w4s2_resnet18-w16)': {
            'top-1 %': cls['cascade_top1'], 'drop vs base (pts)': cls['base_top1'] - cls['cascade_top1'],
            'MACs saved': cls['macs_saved_pct'], "saver's share": cls['exit_ratio'],
            'GMACs / image': cls['gmacs_cascade']},
        '3 stages (tinysaver_3stage_…, 0.5-pt target)': {
            'top-1 %': three_row['test_top1'],
            'drop vs base (pts)': three['base_test_top1'] - three_row['test_top1'],
            'MACs saved': three_row['macs_saved_pct'], "saver's share": three_row['shares'][0],
            'GMACs / image': three_row['gmacs']},
    }
    for key, method in (('ESN (tinysaver-esn_…, 0.1-pt target)', 'esn'),
                        ('attached exits (tinysaver-attached-exits_…)', 'attached_exits')):
        r = _esn_row(method)
        rows[key] = {'top-1 %': r['test_top1'], 'drop vs base (pts)': r['test_top1_drop_pts'],
                     'MACs saved': r['macs_saved_pct'], "saver's share": r['exit_shares']['saver'],
                     'GMACs / image': r['gmacs_per_img']}
    return rows


def _fmnist_det() -> dict:
    det = _json('demo_det.json')
    rows = {
        'saver alone': {'box mAP': det['saver_map'], 'GMACs / image': det['gmacs_saver']},
        'base alone': {'box mAP': det['base_map'], 'GMACs / image': det['gmacs_base']},
        'cascade, evaluator exit': {
            'box mAP': det['cascade_map'], 'mAP drop vs base': det['map_drop'],
            'MACs saved': det['macs_saved_pct'], 'exit ratio': det['exit_ratio'],
            'GMACs / image': det['gmacs_cascade']},
    }
    for name, p in _policies('demo_det.json').items():
        rows[name] = {'exit ratio': p['calibrated_exit_ratio'], 'mAP drop': p['calibrated_map_drop'],
                      'MACs saved': p['calibrated_macs_saved_pct']}
    return rows


def _fmnist_seg() -> dict:
    seg = _json('demo_seg.json')
    rows = {
        'saver alone': {'mIoU': seg['saver_miou'], 'GMACs / image': seg['gmacs_saver']},
        'base alone': {'mIoU': seg['base_miou'], 'GMACs / image': seg['gmacs_base']},
        'cascade, evaluator exit': {
            'mIoU': seg['cascade_miou'], 'mIoU drop vs base (pts)': seg['miou_drop_pts'],
            'MACs saved': seg['macs_saved_pct'], 'exit ratio': seg['exit_ratio'],
            'GMACs / image': seg['gmacs_cascade']},
    }
    for name, p in _policies('demo_seg.json').items():
        rows[name] = {'mIoU': 100 * p['calibrated_miou'], 'exit ratio': p['calibrated_exit_ratio'],
                      'MACs saved': p['calibrated_macs_saved_pct']}
    return rows


# document -> its expected rows: row key -> column -> value
EXPECTED = {
    'README.md': _readme,
    'configs/fashion_mnist/README.md': _fashion_mnist,
    'configs/fmnist_det/README.md': _fmnist_det,
    'configs/fmnist_seg/README.md': _fmnist_seg,
}
DOCS = ['README.md'] + sorted(osp.relpath(p, ROOT) for p in
                              glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))


def test_every_config_folder_has_a_readme_and_a_metafile():
    folders = [d for d in sorted(glob.glob(osp.join(ROOT, 'configs', '*')))
               if osp.isdir(d) and osp.basename(d) != '_base_']
    assert folders
    for d in folders:
        for name in ('README.md', 'metafile.yml'):
            assert osp.isfile(osp.join(d, name)), f'{osp.relpath(d, ROOT)} has no {name}'


def _check(doc: str, text: str = None) -> int:
    """Compare every figure of every table of ``doc`` (or ``text`` as that
    document); return how many were checked."""
    if text is None:
        text = open(osp.join(ROOT, doc)).read()
    expected = EXPECTED[doc]() if doc in EXPECTED else {}
    seen, checked = set(), 0
    for table in tables(text):
        for row in table['rows']:
            assert len(row) == len(table['header']), \
                f'{doc}:{table["line"]}: row {row[0]!r} has {len(row)} cells, header {len(table["header"])}'
            for column, cell in zip(table['header'][1:], row[1:]):
                fig = figure(cell)
                if fig is None:
                    continue
                value, decimals = fig
                where = f'{doc}:{table["line"]} row {row[0]!r} column {column!r}'
                assert row[0] in expected and column in expected[row[0]], \
                    f'{where}: figure {cell!r} is not checked against any results file'
                truth = expected[row[0]][column]
                # printed at `decimals` places: within half a unit of the last place
                assert abs(value - truth) <= 0.5 * 10 ** -decimals + 1e-9, \
                    f'{where}: printed {cell!r}, the results file says {truth!r}'
                seen.add(row[0])
                checked += 1
    missing = set(expected) - seen
    assert not missing, f'{doc}: rows {sorted(missing)} are expected but not printed'
    return checked


@pytest.mark.parametrize('doc', DOCS)
def test_tables_equal_the_results_files(doc):
    checked = _check(doc)
    if doc in EXPECTED:
        assert checked >= len(EXPECTED[doc]())


def test_the_readme_table_has_a_row_per_embedded_cascade():
    readme = open(osp.join(ROOT, 'README.md')).read()
    table = next(t for t in tables(readme) if 'MACs saved' in t['header'])
    assert {r[1] for r in table['rows']} == {'classification', 'detection', 'segmentation',
                                               'classification (ESN)'}
    for col in ('metric', 'drop', 'MACs saved', 'exit ratio'):
        assert col in table['header']
    assert len(readme.split('\n')) <= 250, 'the README is the landing page: 250 lines at most'


def test_an_uncovered_or_wrong_figure_fails():
    """The checker itself: a changed figure and an unexpected one are caught."""
    readme = open(osp.join(ROOT, 'README.md')).read()
    bad = readme.replace('| 91.77 |', '| 91.79 |', 1)
    assert bad != readme
    with pytest.raises(AssertionError, match='printed'):
        _check('README.md', bad)
    extra = readme + '\n| x | y |\n|---|---|\n| new row | 1.5 |\n'
    with pytest.raises(AssertionError, match='not checked'):
        _check('README.md', extra)
