"""tools/serve_config.py: a deploy config Ray Serve's own schema accepts."""
import os.path as osp
import subprocess
import sys

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/fashion_mnist/tinysaver_3stage_resnet18-w4s2_w8_w16_fmnist.py'


def _run(*args):
    return subprocess.run([sys.executable, 'tools/serve_config.py', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={'PYTHONPATH': ROOT, 'PATH': '/usr/bin:/bin'})


@pytest.mark.slow  # three fresh interpreters importing the OpenMMLab stack (~50 s)
def test_serve_config_is_valid_and_not_overwritten(tmp_path):
    out = tmp_path / 'serve.yaml'
    proc = _run(CFG, str(out), '--base-replicas', '2', '--max-batch-size', '8')
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = yaml.safe_load(out.read_text())
    assert doc['http_options']['host'] == '127.0.0.1'
    app = doc['applications'][0]
    assert app['import_path'] == 'tinysaver_mm.serving:build_app'
    assert app['args']['config'] == osp.join(ROOT, CFG)
    assert [d['name'] for d in app['deployments']] == ['saver', 'mid0', 'base', 'stats']
    assert app['deployments'][2]['num_replicas'] == 2
    schema = pytest.importorskip('ray.serve.schema')
    schema.ServeDeploySchema.model_validate(doc)
    again = _run(CFG, str(out))
    assert again.returncode != 0 and '--overwrite' in again.stderr
    bad = _run(CFG, str(tmp_path / 'x.yaml'), '--saver-replicas', '0')
    assert bad.returncode != 0 and 'saver_replicas' in bad.stderr
