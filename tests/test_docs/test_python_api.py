"""The Python API section of docs/en/get_started.md runs as printed: its snippet, executed
as the page embeds it, prints exactly the output block the page shows, and each printed
line agrees with the stage that answered run alone (the saver's own prediction when it
answered, the base's otherwise) and with the config's threshold."""
import contextlib
import io
import os
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGE = osp.join(ROOT, 'docs', 'en', 'get_started.md')


def _section() -> str:
    text = open(PAGE).read()
    assert '## Python API' in text, 'docs/en/get_started.md has no "## Python API" section'
    return text.split('## Python API', 1)[1].split('\n## ', 1)[0]


def test_the_python_api_snippet_prints_what_the_page_shows(monkeypatch):
    pytest.importorskip('mmpretrain')
    if not osp.isdir(osp.join(ROOT, 'data', 'fashion_mnist')):
        pytest.skip('Fashion-MNIST is not downloaded (bash tools/install.sh)')
    import torch
    from mmengine.registry import DefaultScope
    section = _section()
    code = re.findall(r'```python\n(.*?)```', section, re.S)[0]
    shown = re.findall(r'```text\n(.*?)```', section, re.S)[0].strip().splitlines()
    monkeypatch.chdir(ROOT)
    scope = {}
    out = io.StringIO()
    with DefaultScope.overwrite_default_scope('mmengine'), contextlib.redirect_stdout(out):
        exec(compile(code, PAGE, 'exec'), scope)
    printed = [ln for ln in out.getvalue().strip().splitlines() if ' - mmengine - ' not in ln]
    assert printed == shown  # mmengine's log lines aside
    # each line against the stages run alone on the same batch
    model, batch = scope['model'], scope['batch']
    with torch.no_grad():
        alone = {role: [int(ds.pred_label) for ds in getattr(model, role).test_step(batch)]
                 for role in ('saver', 'base')}
    for i, line in enumerate(shown):
        label, pred, role, score = line.split()
        assert int(label) == int(batch['data_samples'][i].gt_label)
        assert int(pred) == alone[role][i]
        assert (role == 'saver') == (float(score) >= model.threshold)
