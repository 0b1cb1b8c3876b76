"""Images without a channel dimension: a message naming the expected shape (issue 25, case 12)."""
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_CFG = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')


@pytest.fixture(scope='module')
def cascade():
    from mmengine.config import Config
    from tinysaver_mm.apis import init_cascade
    return init_cascade(Config.fromfile(CLS_CFG))


def test_batch_without_channels_names_the_expected_shape(cascade):
    grey = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)  # e.g. torchvision's .data
    for call in (lambda: cascade.predict(grey),
                 lambda: cascade.test_step(dict(inputs=grey)),   # mmengine's API
                 lambda: cascade(grey, mode='tensor')):
        with pytest.raises(ValueError, match=r'shape \(4, 28, 28\).*\(N, C, H, W\).*'
                                             r'images\[:, None\]'):
            call()
    with pytest.raises(ValueError, match=r'shape \(28, 28\).*\(C, H, W\).*img\[None\]'):
        cascade.predict(list(grey))
    # with the channel: the same answers as the stages' own batch
    out = cascade.predict(grey[:, None])
    assert len(out) == 4 and all(ds.pred_score.shape == (10, ) for ds in out)
