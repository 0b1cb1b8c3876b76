"""mmpretrain / mmengine entry points on the classification cascade (issue 25, case 8).

mmpretrain's ``tools/test.py --out`` and ``analysis_tools/eval_metric.py``,
mmengine's ``Runner`` with seeded random test transforms (with and without
``TinySaverMACsHook``), the drift hook's fields in the logged epoch line and
JSON log, and ``get_model_complexity_info`` on the routed forward.
"""
import ast
import glob
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('mmpretrain')

from host_entry_helpers import (CLS_CFG, NO_WORKERS, host_tool, json_metrics,  # noqa: E402
                                merged_checkpoint, need_data, run)

SUBSET = ['test_dataloader.dataset.indices=300'] + NO_WORKERS


@pytest.fixture(scope='module')
def cls_ckpt(tmp_path_factory):
    return merged_checkpoint(CLS_CFG, tmp_path_factory)[0]


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """This project's tools/test.py on the first 300 test images."""
    need_data('fashion_mnist/t10k-images-idx3-ubyte')
    wd = str(tmp_path_factory.mktemp('ref_cls'))
    proc = run(sys.executable, 'tools/test.py', CLS_CFG, '--work-dir', wd,
               '--cfg-options', *SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json_metrics(wd)


@pytest.mark.slow
def test_eval_metric_py_with_the_packaged_name(cls_ckpt, reference, tmp_path):
    """mmpretrain's eval_metric.py reads no config, so nothing imports the plugin:
    type=tinysaver_mm.TinySaverMetric makes mmengine import it (tinysaver_mm.registry);
    its figures are tools/test.py's on the same images."""
    pkl = str(tmp_path / 'preds.pkl')
    proc = run(sys.executable, host_tool('mmpretrain', 'test.py'), CLS_CFG, cls_ckpt,
               '--work-dir', tmp_path / 'host', '--out', pkl, '--cfg-options', *SUBSET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run(sys.executable, host_tool('mmpretrain', 'analysis_tools', 'eval_metric.py'), pkl,
               '--metric', 'type=tinysaver_mm.TinySaverMetric', '--metric', 'type=Accuracy')
    assert proc.returncode == 0, proc.stderr[-3000:]
    offline = ast.literal_eval(proc.stdout[proc.stdout.index('{'):])
    ref = {k: v for k, v in reference.items() if k.startswith(('tinysaver/', 'accuracy/'))}
    assert set(offline) == set(ref)
    assert offline == pytest.approx(ref, abs=1e-4)  # the JSON log rounds to 4 decimals


def _runner_outputs(cfg, hooks) -> list:
    """Predictions of an in-process mmengine Runner test with these custom hooks."""
    import copy
    from mmengine.evaluator import DumpResults
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.custom_hooks = hooks
    runner = Runner.from_cfg(cfg)
    path = osp.join(cfg.work_dir, f'preds_{len(hooks)}.pkl')
    runner.test_evaluator.metrics.append(DumpResults(out_file_path=path))
    metrics = runner.test()
    import pickle
    return pickle.load(open(path, 'rb')), metrics


@pytest.mark.slow
def test_macs_hook_leaves_seeded_random_test_transforms_alone(tmp_path):
    """TinySaverMACsHook measures on the loop's own first batch: with seeded random test
    transforms (a random flip, transforms run in the main process) every prediction is the
    same with and without it, while drawing one batch first (what it did) changes them."""
    need_data('fashion_mnist/t10k-images-idx3-ubyte')
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS
    cfg = Config.fromfile(CLS_CFG)
    cfg.work_dir = str(tmp_path)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False, batch_size=64)
    cfg.test_dataloader.dataset.indices = 256
    cfg.test_dataloader.dataset.pipeline = [dict(type='RandomFlip', prob=0.5,
                                                  direction='horizontal'),
                                            dict(type='PackInputs')]
    cfg.randomness = dict(seed=0)

    @HOOKS.register_module(force=True)
    class _DrawsABatch(Hook):  # the old hook's side effect, nothing else
        def before_test_epoch(self, runner):
            next(iter(runner.test_dataloader))

    with_hook, m_hook = _runner_outputs(cfg, [dict(type='TinySaverMACsHook')])
    without, m_none = _runner_outputs(cfg, [])
    drawn, _ = _runner_outputs(cfg, [dict(type='_DrawsABatch'), dict(type='_DrawsABatch')])
    scores = [np.stack([p['pred_score'].numpy() for p in out])
              for out in (with_hook, without, drawn)]
    assert np.array_equal(scores[0], scores[1])
    assert m_hook == m_none
    assert not np.array_equal(scores[0], scores[2])  # the check can see a consumed batch
    assert m_hook['tinysaver/gmacs_saver'] > 0


@pytest.mark.slow
def test_drift_fields_reach_the_epoch_line_and_the_json_log(cls_ckpt, reference, tmp_path):
    """TinySaverDriftHook's drift_* under mmpretrain's tools/test.py: in the printed epoch
    line, the work dir's .log and its JSON log, with tools/test.py's figures."""
    from tinysaver_mm.core import drift_reference
    from mmengine.config import Config
    thr = Config.fromfile(CLS_CFG).model.threshold
    conf = np.random.default_rng(0).random(2000)
    cal = tmp_path / 'cal.json'
    cal.write_text(json.dumps(dict(rule='max_prob', threshold=thr,
                                   drift=drift_reference(conf, thr))))
    cfg = tmp_path / 'drift_cfg.py'
    cfg.write_text(f"_base_ = ['{CLS_CFG}']\n"
                   "custom_hooks = [dict(type='TinySaverMACsHook'), dict(type="
                   f"'TinySaverDriftHook', calibration='{cal}', level=0.01, first=100)]\n")
    runs = {}
    for name, script, args in (('host', host_tool('mmpretrain', 'test.py'), [cls_ckpt]),
                               ('mine', 'tools/test.py', [])):
        wd = str(tmp_path / name)
        proc = run(sys.executable, script, cfg, *args, '--work-dir', wd, '--cfg-options',
                   *SUBSET)
        assert proc.returncode == 0, proc.stderr[-3000:]
        logged = json_metrics(wd)
        keys = [k for k in logged if k.startswith('tinysaver/drift_')]
        assert sorted(keys) == sorted(f'tinysaver/drift_{k}' for k in (
            'detected', 'exit_pvalue', 'ks', 'ks_pvalue', 'images_seen', 'detected_at'))
        assert logged['tinysaver/drift_images_seen'] == 300
        epoch_line = [ln for ln in open(glob.glob(osp.join(wd, '*', '*.log'))[0])
                      if 'Epoch(test)' in ln][-1]
        assert 'tinysaver/drift_ks:' in epoch_line and 'tinysaver/drift_detected:' in epoch_line
        runs[name] = logged
    assert runs['host'] == pytest.approx(runs['mine'])
    # the cascade's own figures are unchanged by the hook
    assert {k: v for k, v in runs['host'].items() if k in reference} == \
        pytest.approx(reference)


def test_complexity_info_says_which_path_it_counted(monkeypatch):
    """get_model_complexity_info traces one routed forward: it says which stages ran."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from tinysaver_mm.apis import init_cascade
    import tinysaver_mm.models.cascade as cascade_module
    model = init_cascade(Config.fromfile(CLS_CFG))
    said = []
    monkeypatch.setattr(cascade_module, 'print_log',
                        lambda msg, *a, **k: said.append(msg))
    imgs = torch.randint(0, 256, (64, 1, 28, 28), generator=torch.Generator().manual_seed(0),
                         dtype=torch.uint8)
    _, by, _ = model.route(imgs)
    exits, goes_on = imgs[by == 0][:1], imgs[by == 1][:1]
    assert len(exits) and len(goes_on)
    macs = model.measure_stage_macs(imgs[:1])
    figures = {}
    for name, x in (('exits', exits), ('goes_on', goes_on)):
        said.clear()
        figures[name] = get_model_complexity_info(model, inputs=(x, ), show_table=False,
                                                  show_arch=False)['flops']
        assert any('counted the routed path' in m for m in said), said
        told = next(m for m in said if 'counted the routed path' in m)
        if name == 'exits':
            assert 'path of its 1 input image(s): the saver (on 1 image(s)), whose answers ' \
                'it returns.' in told
        else:
            assert 'path of its 1 input image(s): the base (on 1 image(s)), whose answers it ' \
                'returns; not the saver (on 1), which ran only to route them' in told
        assert 'tools/test.py' in told
    # the figures are what the message says: the saver's alone; the base's alone
    assert figures['exits'] == pytest.approx(macs['saver'], rel=0.01)
    assert figures['goes_on'] == pytest.approx(macs['base'], rel=0.01)
