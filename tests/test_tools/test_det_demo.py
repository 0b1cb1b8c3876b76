"""The embedded detection cascade end to end (shipped checkpoints, Fashion-MNIST detection set)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

pytest.importorskip('mmdet')

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
REPORT_CFG = CFG.replace('.py', '_report.py')
DATA = osp.join(ROOT, 'data', 'fmnist_det')
FMNIST = osp.join(ROOT, 'data', 'fashion_mnist')


def _tool(*args, cwd=ROOT):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    return proc


def _metrics(stdout):
    out = {}
    for line in stdout.splitlines():
        if ': ' in line and '/' in line.split(': ')[0]:
            key, value = line.split(': ', 1)
            try:
                out[key.strip()] = float(value)
            except ValueError:
                pass
    return out


@pytest.fixture(scope='module')
def tiny_det(tmp_path_factory):
    """A small generated detection set (same generator as data/fmnist_det)."""
    if not osp.isfile(osp.join(FMNIST, 't10k-images-idx3-ubyte')):
        pytest.skip('Fashion-MNIST not installed (bash tools/install.sh)')
    from tinysaver_mm.datasets import make_fmnist_det
    root = str(tmp_path_factory.mktemp('det'))
    for split, n in (('train', 40), ('val', 6)):
        make_fmnist_det(root, split, n, (128, 128), 0, FMNIST)
    return root


def _tiny_options(root, out_file=None):
    opts = [f'test_dataloader.dataset.data_root={root}/',
            f'test_evaluator.0.ann_file={root}/annotations/instances_val.json']
    if out_file:
        opts += [f'test_evaluator.2.ann_file={root}/annotations/instances_val.json',
                 f'test_evaluator.2.out_file={out_file}']
    return opts


@pytest.mark.slow
def test_report_config_through_tools_test(tiny_det, tmp_path):
    out = str(tmp_path / 'demo_det.json')
    proc = _tool('tools/test.py', REPORT_CFG, '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *_tiny_options(tiny_det, out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = _metrics(proc.stdout)
    report = json.load(open(out))
    for key in ('saver_map', 'base_map', 'cascade_map', 'exit_ratio', 'gmacs_saver', 'gmacs_base',
                'gmacs_evaluator', 'gmacs_cascade', 'macs_saved_pct', 'threshold', 'policies'):
        assert key in report
    # independent reference: mmdet's own CocoMetric on the cascade's predictions
    assert report['cascade_map'] == pytest.approx(m['coco/bbox_mAP'], abs=6e-4)
    assert report['exit_ratio'] == pytest.approx(m['tinysaver/exit_ratio'])
    assert report['gmacs_cascade'] == pytest.approx(m['tinysaver/gmacs_cascade'])
    assert {r['policy'] for r in report['policies']} == {'evaluator', 'max_score', 'mean_topk', 'oracle'}


@pytest.mark.slow
def test_record_then_train_evaluator_then_cascade_uses_it(tiny_det, tmp_path):
    opts = [f'holdout_dataloader.dataset.data_root={tiny_det}/',
            'holdout_dataloader.dataset.indices=None']
    proc = _tool('tools/record.py', CFG, '--split', 'holdout', '--out-dir', str(tmp_path),
                 '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = proc.stdout.strip().split('written: ')[-1]
    ev = str(tmp_path / 'ev.pth')
    proc = _tool('tools/train_evaluator.py', rec, '--out', ev, '--steps', '50',
                 '--results', str(tmp_path / 'ev.json'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.load(open(tmp_path / 'ev.json'))
    assert summary['num_fit'] == 20 and summary['num_calib'] == 20
    threshold = min(1.0, summary['policies']['evaluator']['threshold'])
    proc = _tool('tools/test.py', CFG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                 *_tiny_options(tiny_det), f'model.evaluator.checkpoint={ev}',
                 f'model.threshold={threshold}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'tinysaver/gmacs_evaluator' in proc.stdout


@pytest.mark.slow
def test_missing_image_and_orphan_annotation_are_refused(tiny_det, tmp_path):
    import shutil
    root = str(tmp_path / 'broken')
    shutil.copytree(tiny_det, root)
    os.remove(osp.join(root, 'val', '000002.png'))
    proc = _tool('tools/test.py', CFG, '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *_tiny_options(root))
    assert proc.returncode != 0 and 'whose files do not exist' in proc.stderr
    assert '000002.png' in proc.stderr
    shutil.copy(osp.join(tiny_det, 'val', '000002.png'), osp.join(root, 'val', '000002.png'))
    ann = osp.join(root, 'annotations', 'instances_val.json')
    coco = json.load(open(ann))
    coco['images'] = coco['images'][1:]
    json.dump(coco, open(ann, 'w'))
    proc = _tool('tools/test.py', CFG, '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *_tiny_options(root))
    assert proc.returncode != 0 and 'missing from its "images" list' in proc.stderr


def test_check_dataset_cfg_refuses_missing_images_and_orphans(tiny_det, tmp_path):
    """Fast path of the same checks, without running a model."""
    import shutil
    from mmengine.config import Config
    from tinysaver_mm.apis import check_dataset_cfg
    root = str(tmp_path / 'broken')
    shutil.copytree(tiny_det, root)
    cfg = Config(dict(default_scope='mmdet'))
    ds = dict(type='CocoDataset', data_root=root + '/', ann_file='annotations/instances_val.json',
              data_prefix=dict(img='val/'), test_mode=True, pipeline=[],
              metainfo=dict(classes=('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                                     'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')))
    check_dataset_cfg(cfg, ds, 'test')  # intact: accepted
    os.remove(osp.join(root, 'val', '000001.png'))
    with pytest.raises(ValueError, match='000001.png'):
        check_dataset_cfg(cfg, ds, 'test')
    shutil.copy(osp.join(tiny_det, 'val', '000001.png'), osp.join(root, 'val', '000001.png'))
    ann = osp.join(root, 'annotations', 'instances_val.json')
    coco = json.load(open(ann))
    coco['images'] = coco['images'][:-1]
    json.dump(coco, open(ann, 'w'))
    with pytest.raises(ValueError, match='missing from its "images" list'):
        check_dataset_cfg(cfg, ds, 'test')
    with pytest.raises(ValueError, match='empty'):
        check_dataset_cfg(cfg, dict(ds, indices=0), 'test')
