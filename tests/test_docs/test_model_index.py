"""mim's model index lists every config folder's metafile; each metafile names existing
configs and weights, and its figures are the shipped results files' (metafile side of
tests/test_host_tools.py's check, for the folders and the segmentation entries)."""
import glob
import json
import os.path as osp

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _models() -> dict:
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    models = {}
    for rel in index['Import']:
        for m in yaml.safe_load(open(osp.join(ROOT, rel)))['Models']:
            assert m['Name'] not in models, f'{m["Name"]} is listed twice'
            models[m['Name']] = dict(m, metafile=rel)
    return models


def test_the_index_imports_every_folder_and_every_config_is_listed():
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    folders = sorted(osp.basename(d) for d in glob.glob(osp.join(ROOT, 'configs', '*'))
                     if osp.isdir(d) and osp.basename(d) != '_base_')
    assert sorted(index['Import']) == sorted(f'configs/{f}/metafile.yml' for f in folders)
    listed = {m['Config'] for m in _models().values()}
    for folder in ('custom', 'imagenet', 'coco', 'cityscapes', 'ade20k', 'fmnist_seg'):
        for cfg in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')):
            rel = osp.relpath(cfg, ROOT)
            if folder == 'fmnist_seg' and rel.endswith('_report.py'):
                continue  # the report variant of the listed cascade
            assert rel in listed, f'{rel} is not in its metafile'


def test_configs_and_weights_exist():
    for name, m in _models().items():
        assert osp.isfile(osp.join(ROOT, m['Config'])), (name, m['Config'])
        for w in m.get('Weights', '').split(' + '):
            if w.startswith('https://'):
                # a zoo URL: it must be the one the config itself downloads
                assert w in open(osp.join(ROOT, m['Config'])).read() or _inherited(m['Config'], w), \
                    (name, w)
            elif w:
                assert osp.isfile(osp.join(ROOT, w)), (name, w)


def _inherited(cfg: str, url: str) -> bool:
    """Whether ``url`` appears in ``cfg`` or a local config it inherits from."""
    from mmengine.config import Config
    return url in Config.fromfile(osp.join(ROOT, cfg)).pretty_text


def test_segmentation_figures_are_the_shipped_results():
    seg = json.load(open(osp.join(ROOT, 'results', 'demo_seg.json')))
    models = _models()

    def metric(name):
        return models[name]['Results'][0]['Metrics']['mIoU']
    cascade = models['tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg']
    assert metric('tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg') == round(seg['cascade_miou'], 2)
    assert metric('fcn_r18v1c-w8_fmnist-seg') == round(seg['saver_miou'], 2)
    assert metric('deeplabv3_r18v1c-w32-os4_fmnist-seg') == round(seg['base_miou'], 2)
    assert cascade['Metadata']['FLOPs'] == round(seg['gmacs_cascade'] * 1e9)
    assert cascade['Metadata']['Threshold'] == seg['threshold']
    assert cascade['Metadata']['Exit ratio'] == seg['exit_ratio']
    assert models['fcn_r18v1c-w8_fmnist-seg']['Metadata']['FLOPs'] == round(seg['gmacs_saver'] * 1e9)
    assert models['deeplabv3_r18v1c-w32-os4_fmnist-seg']['Metadata']['FLOPs'] == \
        round(seg['gmacs_base'] * 1e9)


def test_unmeasured_entries_carry_no_figures():
    for name, m in _models().items():
        if m['metafile'].split('/')[1] in ('custom', 'imagenet', 'coco', 'cityscapes', 'ade20k'):
            assert all(not r['Metrics'] for r in m.get('Results', [])), name
            assert 'FLOPs' not in m.get('Metadata', {}), name
