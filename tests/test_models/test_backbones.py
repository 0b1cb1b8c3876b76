"""TinyConvNet: the CPU-time-friendly saver backbone."""
import os.path as osp

import pytest
import torch

import tinysaver_mm  # noqa: F401  (registers TinyConvNet)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _net(**kw):
    from mmpretrain.registry import MODELS
    return MODELS.build(dict(type='TinyConvNet', **kw))


def test_layers_strides_and_outputs():
    net = _net(channels=(8, 16, 24), strides=(2, 1, 2), out_indices=(0, -1))
    outs = net(torch.randn(3, 1, 28, 28))
    assert [tuple(o.shape) for o in outs] == [(3, 8, 14, 14), (3, 24, 7, 7)]
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (1, 8, 2), (8, 16, 1), (16, 24, 2)]


def test_shipped_saver_macs_match_a_hand_count():
    """0.56 MMACs: 3x3 convs at 14x14, 7x7 and 4x4, and the 64x10 head; mmengine's
    counter adds 2 per BatchNorm output element and 1 per pooled element."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    from tinysaver_mm.utils import measure_macs
    model = MODELS.build(Config.fromfile(
        osp.join(ROOT, 'configs', 'fashion_mnist', 'convnet-c16-32-64_fmnist.py')).model).eval()
    convs = 14 * 14 * 16 * 1 * 9 + 7 * 7 * 32 * 16 * 9 + 4 * 4 * 64 * 32 * 9
    maps = 14 * 14 * 16 + 7 * 7 * 32 + 4 * 4 * 64
    hand = convs + 2 * maps + 4 * 4 * 64 + 64 * 10
    assert measure_macs(model, torch.zeros(1, 1, 28, 28)) == hand


@pytest.mark.parametrize('kw, match', [
    (dict(channels=(), strides=()), 'non-empty'),
    (dict(channels=(8, 16), strides=(2, )), r'channels=\(8, 16\) and strides=\(2,\)'),
    (dict(channels=(8, 16), strides=(2, 2), out_indices=(2, )), r'out_indices \(2,\)'),
])
def test_bad_arguments_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        _net(**kw)
