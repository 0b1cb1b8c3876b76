"""Test-time augmentation is refused by the cascade's accounting, with the reason (issue 25 case 10).

A host TTA model runs the cascade once per view and keeps one view's cascade
fields, so ``tinysaver/*`` would count one view of a run that cost one pass
per view. The refusal must not suggest silencing the accounting.
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tinysaver_mm.utils import TTANotSupportedError, refuse_tta, tta_views

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_CFG = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')


def _no_silencing(msg: str) -> None:
    low = msg.lower()
    assert 'remove' not in low and 'custom_hooks' not in low
    assert 'without --tta' in low


def test_views_are_counted_from_the_collated_batch():
    assert tta_views(dict(inputs=[[1, 2], [3, 4]], data_samples=[['a', 'b'], ['c', 'd']])) == 2
    assert tta_views(dict(inputs=torch.zeros(2, 1, 4, 4), data_samples=['a', 'b'])) is None
    assert tta_views(dict(inputs=[torch.zeros(1)], data_samples=None)) is None
    with pytest.raises(TTANotSupportedError) as err:
        refuse_tta('X', 'AverageClsScoreTTA', views=2)
    assert '2 views per image' in str(err.value)
    _no_silencing(str(err.value))


def test_the_metric_refuses_a_tta_batch():
    """With the MACs hook removed, TinySaverMetric still refuses (it sees the views)."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.structures import DataSample
    from tinysaver_mm.evaluation import TinySaverMetric
    views = [[DataSample(), DataSample()], [DataSample(), DataSample()]]
    with pytest.raises(TTANotSupportedError, match='TinySaverMetric: test-time augmentation'):
        TinySaverMetric().process(dict(inputs=[[None] * 2] * 2, data_samples=views), [{}, {}])


@pytest.fixture(scope='module')
def cls_ckpt(tmp_path_factory):
    from tinysaver_mm.apis import merge_cascade
    out = str(tmp_path_factory.mktemp('ckpt') / 'cls_cascade.pth')
    merge_cascade(CLS_CFG, out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize('hooks', ['shipped', 'no_macs_hook'])
def test_host_test_py_tta_is_refused_with_the_reason(cls_ckpt, tmp_path, hooks):
    """mmpretrain's own tools/test.py --tta (its flip TTA, AverageClsScoreTTA): refused by the
    MACs hook, and by the metric when the hook is removed."""
    mmpretrain = pytest.importorskip('mmpretrain')
    if not osp.exists(osp.join(ROOT, 'data', 'fashion_mnist')):
        pytest.skip('data/fashion_mnist missing (bash tools/install.sh)')
    tool = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'test.py')
    options = ['test_dataloader.dataset.indices=16', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False']
    if hooks == 'no_macs_hook':
        options.append('custom_hooks=[]')
    proc = subprocess.run([sys.executable, tool, CLS_CFG, cls_ckpt, '--tta', '--work-dir',
                           str(tmp_path), '--cfg-options', *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    who = 'TinySaverMACsHook' if hooks == 'shipped' else 'TinySaverMetric'
    assert last.startswith(f'tinysaver_mm.utils.tta.TTANotSupportedError: {who}'), last
    assert 'AverageClsScoreTTA' in last or 'views per image' in last
    _no_silencing(last)
