"""Helpers for the tests that drive the host libraries' own tools (issue 25).

The hosts ship their tool scripts in their wheels under ``.mim/tools/``; the
tests run them as subprocesses (with timeouts) on the shipped configs and
compare with this project's ``tools/test.py`` on the same images.
"""
import glob
import json
import os.path as osp
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_CFG = osp.join(ROOT, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
DET_CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
SEG_CFG = osp.join(ROOT, 'configs', 'fmnist_seg', 'tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py')
NO_WORKERS = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def host_tool(lib: str, *parts: str) -> str:
    """A tool script a host library ships in its wheel (``<lib>/.mim/tools/...``)."""
    mod = __import__(lib)
    return osp.join(osp.dirname(mod.__file__), '.mim', 'tools', *parts)


def run(*args, cwd=ROOT, timeout=900, env=None):
    """Run a command; its CompletedProcess (text output)."""
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def json_metrics(work_dir: str) -> dict:
    """The metrics mmengine's logger wrote for a test run (full precision)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics JSON in {work_dir}'
    metrics = json.loads(open(files[-1]).read().splitlines()[-1])
    return {k: v for k, v in metrics.items() if k not in ('data_time', 'time')}


def need_data(*paths):
    """Skip when a data set of data/ is missing."""
    for p in paths:
        if not osp.exists(osp.join(ROOT, 'data', p)):
            pytest.skip(f'data/{p} missing (bash tools/install.sh; bash tools/make_fmnist_det.sh; '
                        'bash tools/make_fmnist_seg.sh)')


@pytest.fixture(autouse=True)
def keep_default_scope():
    """Host APIs (init_model, init_detector...) set mmengine's default scope for good;
    other test files build in their own scope. Import it into a test module to use it."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


def merged_checkpoint(cfg_path: str, tmp_path_factory) -> tuple:
    """tools/merge_cascade.py's whole-cascade checkpoint of a config: (path, meta)."""
    from tinysaver_mm.apis import merge_cascade
    out = str(tmp_path_factory.mktemp('ckpt') / (osp.basename(cfg_path)[:-3] + '.pth'))
    return out, merge_cascade(cfg_path, out)
