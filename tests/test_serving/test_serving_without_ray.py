"""Without Ray: tinysaver_mm and its serving logic import and answer; build_app says what
to install. Ray's import is blocked in a fresh interpreter (as tests/test_optional_hosts.py
blocks mmdet/mmseg)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SCRIPT = r'''
import json, sys
sys.modules['ray'] = None  # looks uninstalled: import raises ModuleNotFoundError
import tinysaver_mm, tinysaver_mm.serving
from tinysaver_mm.apis import init_cascade
from tinysaver_mm.serving import CascadeFrontend, build_app
sys.path.insert(0, 'tests/test_serving')
from serving_data import CLS_CFG, loop_answers
cascade = init_cascade(CLS_CFG)
images, samples = loop_answers(cascade, 8)
status, payload = CascadeFrontend(cascade).handle(images[3], 'image/png')
try:
    build_app(dict(config=CLS_CFG))
    err = None
except ImportError as e:
    err = str(e)
print(json.dumps(dict(status=status, label=payload['results'][0]['label'],
                      expected=int(samples[3].pred_label), err=err,
                      ray_loaded=[m for m, v in sys.modules.items()
                                  if m.partition('.')[0] == 'ray' and v is not None])))
'''


@pytest.mark.slow  # a fresh interpreter importing torch and mmpretrain (~20 s)
def test_serving_logic_without_ray():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res['status'] == 200 and res['label'] == res['expected']
    assert res['ray_loaded'] == []
    assert res['err'] and 'requirements/serve.txt' in res['err']
