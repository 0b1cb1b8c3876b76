"""Benchmark helpers: forced exit ratios, rows, and bad input."""
import pytest
import torch

from tinysaver_mm.testing import stage_cfg
from tinysaver_mm.apis.benchmark import (CSV_COLUMNS, benchmark_cascade,
                                         forced_threshold)


def test_forced_threshold_gives_exactly_that_many_exits():
    conf = torch.rand(257, generator=torch.Generator().manual_seed(0))
    for r in (0, 0.1, 0.25, 0.5, 0.9, 1.0):
        thr = forced_threshold(conf, r)
        assert 0.0 <= thr <= 1.0
        assert int((conf >= thr).sum()) == round(r * 257)


def test_forced_threshold_bad_ratio_and_ties():
    with pytest.raises(ValueError, match='1.5'):
        forced_threshold(torch.rand(4), 1.5)
    with pytest.raises(ValueError, match='cannot force'):
        forced_threshold(torch.tensor([0.7, 0.7, 0.7, 0.2]), 0.5)


def _model():
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(type='TinySaverClassifier', saver=stage_cfg(channels=2),
                             base=stage_cfg(channels=8), threshold=0.5))


def _batch(bs):
    return torch.randint(0, 256, (bs, 1, 8, 8), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(bs))


def test_benchmark_rows_and_macs_prediction():
    model = _model()
    rows = benchmark_cascade(model, _batch, 'toy', batch_sizes=(1, 6),
                             exit_ratios=(0, 0.5, 1.0), warmup=0, repeats=1)
    assert len(rows) == 5 and all(set(CSV_COLUMNS) == set(r) for r in rows)  # batch 1: 0, 1
    s, b = model.stage_macs('saver'), model.stage_macs('base')
    for r in rows:
        assert r['macs_speedup'] == pytest.approx(b / (s + (1 - r['exit_ratio']) * b))
        assert r['efficiency'] == pytest.approx(r['speedup'] / r['macs_speedup'])
        assert r['stages_speedup'] == pytest.approx(
            r['ms_per_img_base'] / r['ms_per_img_back_to_back'])
        assert r['routing_overhead_pct'] == pytest.approx(
            100 * (r['ms_per_img_cascade'] / r['ms_per_img_back_to_back'] - 1))
    assert model.threshold == 0.5  # restored


def test_benchmark_rows_are_the_exit_ratios_a_batch_can_realise():
    rows = benchmark_cascade(_model(), _batch, 'toy', batch_sizes=(1, 4),
                             exit_ratios=(0, 0.25, 0.3, 0.75, 1.0), warmup=0, repeats=1,
                             macs={'saver': 1, 'base': 9})
    # batch 1: no exit or one; batch 4: 0.25 and 0.3 both let one image of 4 exit
    assert [(r['batch_size'], r['exit_ratio']) for r in rows] == [
        (1, 0.0), (1, 1.0), (4, 0.0), (4, 0.25), (4, 0.75), (4, 1.0)]
    for r in rows:
        assert r['macs_speedup'] == pytest.approx(9 / (1 + 9 * (1 - r['exit_ratio'])))
        assert r['img_per_s_base'] == pytest.approx(1e3 / r['ms_per_img_base'])


def test_back_to_back_gives_the_base_the_rows_the_cascade_gives_it():
    model = _model()
    model.measure_stage_macs(_batch(1))  # not to count the MACs measurement's runs
    seen = []
    model.base.register_forward_hook(
        lambda m, args, kwargs, out: seen.append(len(args[0] if args else kwargs['inputs'])),
        with_kwargs=True)
    for r in (0, 0.5, 1.0):
        seen.clear()
        benchmark_cascade(model, _batch, 'toy', batch_sizes=(6, ), exit_ratios=(r, ),
                          warmup=0, repeats=2, macs={'saver': 1, 'base': 2})
        rest = 6 - round(r * 6)
        # base alone twice on 6 images; cascade, back to back and (a smaller sub-batch)
        # the base alone on it twice each on the rest
        assert sorted(seen) == sorted([6, 6] + [rest] * (4 + 2 * (0 < rest < 6)) * (rest > 0))


@pytest.mark.parametrize('kw, match', [
    (dict(batch_sizes=(0, )), 'batch size 0'),
    (dict(exit_ratios=(-0.1, )), 'exit ratio -0.1'),
])
def test_benchmark_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        benchmark_cascade(_model(), _batch, 'toy', **kw)


def test_benchmark_refuses_a_non_cascade():
    from mmpretrain.registry import MODELS
    with pytest.raises(TypeError, match='two-stage TinySaver cascade'):
        benchmark_cascade(MODELS.build(stage_cfg()), _batch, 'toy')


def test_benchmark_tool_refuses_a_non_cascade_config():
    import os.path as osp

    from tinysaver_mm.apis.benchmark import run_benchmark
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    with pytest.raises(TypeError, match='not a classification cascade config'):
        run_benchmark(osp.join(root, 'configs', 'fashion_mnist', 'resnet18-w16_fmnist.py'))


def test_benchmark_tool_writes_csv_and_png_on_cpu(tmp_path):
    import csv
    import os.path as osp

    from tinysaver_mm.apis.benchmark import run_benchmark
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    out, lat = str(tmp_path / 'b.csv'), str(tmp_path / 'lat.csv')
    cfg = osp.join(root, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    rows = run_benchmark(cfg, batch_sizes=(4, ), exit_ratios=(0, 0.5), warmup=0, repeats=1,
                         random_weights=True, input_shape=(1, 28, 28), out=out, device='cpu',
                         stage_latency_out=lat)
    assert [r['exit_ratio'] for r in rows] == [0.0, 0.5]
    assert [r['pair'] for r in csv.DictReader(open(out))] == [rows[0]['pair']] * 2
    assert (tmp_path / 'b.png').is_file()
    # the config's own test images (shipped weights), as tools/run_benchmark.sh runs it
    real = run_benchmark(cfg, batch_sizes=(3, ), exit_ratios=(0.5, ), warmup=0, repeats=1,
                         out=out, device='cpu', pair='real', fuse_conv_bn=True,
                         stage_latency_out=lat)
    assert real[0]['batch_size'] == 3 and real[0]['ms_per_img_cascade'] > 0
    # another batch size of the same pair is added, not put in place of the first run
    run_benchmark(cfg, batch_sizes=(2, ), exit_ratios=(1.0, ), warmup=0, repeats=1,
                  random_weights=True, input_shape=(1, 28, 28), out=out, device='cpu',
                  stage_latency_out=lat)
    assert [(r['pair'], r['batch_size']) for r in csv.DictReader(open(out))] == [
        (rows[0]['pair'], '4')] * 2 + [('real', '3'), (rows[0]['pair'], '2')]
    if not torch.cuda.is_available():  # --device cuda on a machine without one
        with pytest.raises(ValueError, match="device 'cuda' is not available"):
            run_benchmark(cfg, batch_sizes=(4, ), exit_ratios=(0, ), random_weights=True,
                          input_shape=(1, 28, 28), out=out, device='cuda', stage_latency_out=lat)
    with pytest.raises(ValueError, match="device 'tpu'"):
        run_benchmark(cfg, batch_sizes=(4, ), exit_ratios=(0, ), random_weights=True,
                      input_shape=(1, 28, 28), out=out, device='tpu', stage_latency_out=lat)


def test_fuse_stages_removes_batchnorm_and_keeps_predictions():
    """--fuse-conv-bn: same routed outputs, no BatchNorm left (shipped Fashion-MNIST pair)."""
    import copy
    import os.path as osp
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from tinysaver_mm.apis.benchmark import fuse_stages
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    cfg = Config.fromfile(osp.join(root, 'configs', 'fashion_mnist',
                                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py'))
    model = MODELS.build(cfg.model).eval()
    fused = copy.deepcopy(model)
    fuse_stages(fused)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in fused.modules())
    assert any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    raw = torch.randint(0, 256, (16, 1, 28, 28), generator=torch.Generator().manual_seed(0),
                        dtype=torch.uint8)
    probs, by, _ = model.route(raw)
    fprobs, fby, _ = fused.route(raw)
    assert torch.allclose(probs, fprobs, atol=1e-4) and torch.equal(by, fby)


def test_summary_of_a_csv_reports_goals_per_pair(tmp_path):
    from tinysaver_mm.apis.benchmark import goal_report, markdown_table, read_rows
    from tinysaver_mm.utils.report import merge_csv

    def row(pair, bs, r, eff, over):
        return dict(pair=pair, batch_size=bs, exit_ratio=r, efficiency=eff,
                    routing_overhead_pct=over, ms_per_img_base=1.0, ms_per_img_cascade=1.0,
                    speedup=eff, macs_speedup=1.0, stages_speedup=1.0)
    rows = [row('a', 1, 0, 0.5, 5.0), row('a', 32, 0, 0.9, 1.0), row('a', 32, 0.9, 0.8, 2.0),
            row('b', 256, 0.5, 0.95, 2.5), row('b', 256, 1.0, 0.5, 3.5)]
    path = str(tmp_path / 'b.csv')
    merge_csv(rows, path, CSV_COLUMNS, key=('pair', 'batch_size'))  # no backend: PyTorch's
    back = read_rows(path)
    assert back[2]['batch_size'] == 32 and back[2]['efficiency'] == 0.8
    assert len(markdown_table(back).splitlines()) == 2 + len(rows)
    lines = goal_report(back)
    # batch 1 is outside both goals, exit 1.0 outside the efficiency goal's 0.5-0.9
    assert lines == [
        'a [pytorch]: efficiency >= 0.85 at batch >= 32, exit 0.5-0.9: MISSED at batch 32 exit 0.9: '
        '0.800 (free routing: 1.000)',
        'a [pytorch]: routing overhead <= 3.0% at batch >= 32: met (2 rows)',
        'b [pytorch]: efficiency >= 0.85 at batch >= 32, exit 0.5-0.9: met (1 rows)',
        'b [pytorch]: routing overhead <= 3.0% at batch >= 32: MISSED at batch 256 exit 1: 3.5%']


def test_stage_latency_rows_are_the_timed_stages_at_each_batch_size():
    from tinysaver_mm.apis.benchmark import stage_latency_rows
    rows = benchmark_cascade(_model(), _batch, 'toy', batch_sizes=(4, ),
                             exit_ratios=(0, 0.25, 0.5, 1.0), warmup=0, repeats=1,
                             macs={'saver': 1, 'base': 9})
    assert [r['base_rows'] for r in rows] == [4, 3, 2, 0]
    table = stage_latency_rows(rows, {'saver': 's', 'base': 'b'}, {'saver': 1e-9, 'base': 9e-9},
                               'cpu', 'toy.py')
    got = {(t['model'], t['batch_size']): t['ms_per_img'] for t in table}
    assert sorted(got) == [('b', 2), ('b', 3), ('b', 4), ('s', 4)]
    assert got['s', 4] == pytest.approx(rows[0]['ms_per_img_saver'])
    assert got['b', 3] == pytest.approx(rows[1]['ms_per_img_base_rows'])
    import statistics
    assert got['b', 4] == pytest.approx(statistics.median(r['ms_per_img_base'] for r in rows))
    assert all(t['backend'] == 'pytorch' and t['gmacs'] in (1e-9, 9e-9) for t in table)


def test_goal_report_checks_each_backend_and_names_the_misses():
    from tinysaver_mm.apis.benchmark import goal_report
    row = dict(pair='p', batch_size=32, efficiency=0.9, stages_speedup=2.0, macs_speedup=2.0,
               routing_overhead_pct=1.0, speedup_vs_eager_base=1.5)
    rows = [dict(row, backend='pytorch', exit_ratio=0.5),
            dict(row, backend='onnxruntime', exit_ratio=0.5),
            dict(row, backend='onnxruntime', exit_ratio=0.9, efficiency=0.5,
                 speedup_vs_eager_base=0.8)]
    lines = goal_report(rows)
    assert 'p [pytorch]: efficiency >= 0.85 at batch >= 32, exit 0.5-0.9: met (1 rows)' in lines
    ort = [x for x in lines if '[onnxruntime]' in x]
    assert any('efficiency' in x and 'MISSED at batch 32 exit 0.9: 0.500' in x for x in ort)
    assert any('eager' in x and 'MISSED at batch 32 exit 0.9: 0.80x' in x for x in ort)
    assert not any('eager' in x for x in lines if '[pytorch]' in x)


def test_onnxruntime_backend_rows_time_the_sessions_and_the_eager_base(tmp_path):
    import csv
    import os.path as osp

    pytest.importorskip('onnxruntime')
    from tinysaver_mm.apis.benchmark import run_benchmark
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    cfg = osp.join(root, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    out, lat = str(tmp_path / 'b.csv'), str(tmp_path / 'lat.csv')
    for backend in ('pytorch', 'onnxruntime'):
        rows = run_benchmark(cfg, batch_sizes=(4, ), exit_ratios=(0, 0.5), warmup=0, repeats=1,
                             out=out, device='cpu', backend=backend, stage_latency_out=lat)
        assert {r['backend'] for r in rows} == {backend}
    written = list(csv.DictReader(open(out)))
    assert [(r['backend'], r['exit_ratio']) for r in written] == [
        ('pytorch', '0'), ('pytorch', '0.5'), ('onnxruntime', '0'), ('onnxruntime', '0.5')]
    # onnxruntime rows time the eager base too (the paired comparison), pytorch's is its base
    for r in written:
        assert float(r['ms_per_img_eager_base']) > 0
        if r['backend'] == 'pytorch':
            assert r['ms_per_img_eager_base'] == r['ms_per_img_base']
    table = list(csv.DictReader(open(lat)))
    assert {(t['model'], t['backend'], t['batch_size']) for t in table} == {
        (m, b, bs) for b in ('pytorch', 'onnxruntime')
        for m, bs in (('resnet18-w4s2_fmnist', '4'), ('resnet18-w16_fmnist', '4'),
                      ('resnet18-w16_fmnist', '2'))}


@pytest.mark.parametrize('backend', ['pytorch', 'onnxruntime'])
def test_benchmark_stages_times_each_model_at_each_batch_size(tmp_path, backend):
    import csv
    import os.path as osp

    if backend == 'onnxruntime':
        pytest.importorskip('onnxruntime')
    from tinysaver_mm.apis.benchmark import benchmark_stages
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    cfgs = [osp.join(root, 'configs', 'fashion_mnist', f'{m}_fmnist.py')
            for m in ('resnet18-w2s2', 'convnet-c16-32-64')]
    out = str(tmp_path / 'lat.csv')
    rows = benchmark_stages(cfgs, (1, 4), backend, warmup=0, repeats=1,
                            input_shape=(1, 28, 28), out=out)
    assert [(r['model'], r['batch_size']) for r in rows] == [
        ('resnet18-w2s2_fmnist', 1), ('convnet-c16-32-64_fmnist', 1),
        ('resnet18-w2s2_fmnist', 4), ('convnet-c16-32-64_fmnist', 4)]
    assert all(r['backend'] == backend and r['ms_per_img'] > 0 for r in rows)
    # GMACs as the project counts them on each model alone
    from tinysaver_mm.apis.runner import load_cfg
    from tinysaver_mm.utils import measure_macs, model_cfg_of
    from tinysaver_mm.models.classifiers import preprocess
    from mmpretrain.registry import MODELS
    model = MODELS.build(model_cfg_of(load_cfg(cfgs[1]))).eval()
    x = torch.randint(0, 256, (1, 1, 28, 28), dtype=torch.uint8)
    assert rows[1]['gmacs'] == pytest.approx(measure_macs(model, preprocess(model, x)) / 1e9)
    assert len(list(csv.DictReader(open(out)))) == 4
    with pytest.raises(ValueError, match='batch size 0'):
        benchmark_stages(cfgs, (0, ), backend, out=out)


@pytest.mark.parametrize('options', [('fuse_conv_bn', 'channels_last'),
                                     pytest.param(('compile', ), marks=pytest.mark.slow)])
def test_pytorch_options_keep_the_answers_and_are_timed_against_eager(tmp_path, options):
    import csv
    import os.path as osp

    from tinysaver_mm.apis.benchmark import pytorch_options_study
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    cfg = osp.join(root, 'configs', 'fashion_mnist',
                   'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    out = str(tmp_path / 'opt.csv')
    rows = pytorch_options_study(cfg, (4, ), options, warmup=0, repeats=2, out=out)
    assert [(r['stage'], r['option']) for r in rows] == [
        (s, o) for s in ('saver', 'base') for o in ('eager', ) + tuple(options)]
    for r in rows:
        assert r['max_abs_diff'] < 1e-4 and r['ms_per_img'] > 0
        if r['option'] == 'eager':
            assert r['speedup_vs_eager'] == 1.0
    assert len(list(csv.DictReader(open(out)))) == len(rows)
    from tinysaver_mm.apis.benchmark import apply_option
    with pytest.raises(ValueError, match="option 'tensorrt' is unknown"):
        apply_option(torch.nn.Linear(1, 1), 'tensorrt')


def test_at_its_thresholds_the_benchmark_reports_what_the_cascade_did(tmp_path):
    """tools/benchmark.py on an ESN config (always at its own thresholds): shares,
    GMACs and top-1 are those of the cascade's own predictions on those images."""
    import csv
    import json
    import os.path as osp
    import subprocess
    import sys

    import numpy as np
    from tinysaver_mm.apis import init_cascade
    from tinysaver_mm.apis.benchmark import run_operating_point
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    cfg = osp.join(root, 'configs', 'fashion_mnist',
                   'tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py')
    out = str(tmp_path / 'op.csv')
    row = run_operating_point(cfg, batch_sizes=(16, ), num_images=64, warmup=0, repeats=1,
                              out=out)[0]
    model = init_cascade(cfg)
    mcfg = model.cfg
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        batch = next(iter(Runner.build_dataloader(dict(mcfg.test_dataloader, batch_size=64,
                                                       num_workers=0,
                                                       persistent_workers=False))))
    raw = torch.stack(list(batch['inputs']))
    preds = [p for i in range(0, 64, 16) for p in model.predict(raw[i:i + 16])]
    shares = json.loads(row['exit_shares'])
    assert shares == pytest.approx({s: np.mean([p.answered_by == s for p in preds])
                                    for s in model.route_names})
    assert row['gmacs_cascade'] == pytest.approx(np.mean([p.macs for p in preds]) / 1e9)
    assert row['gmacs_base'] == pytest.approx(preds[0].macs_base_alone / 1e9)
    labels = torch.cat([ds.gt_label for ds in batch['data_samples']])
    got = torch.cat([p.pred_label for p in preds])
    assert row['top1_pct_cascade'] == pytest.approx(100 * float((got == labels).float().mean()))
    assert row['ms_per_img_cascade'] > 0 and row['ms_per_img_base'] > 0
    assert [r['pair'] for r in csv.DictReader(open(out))] == [row['pair']]
    # the CLI takes an ESN config as it is, and refuses options nothing would read
    res = subprocess.run([sys.executable, 'tools/benchmark.py', 'at-thresholds', cfg,
                          '--batch-sizes', '32',
                          '--num-images', '32', '--warmup', '0', '--repeats', '1', '--out',
                          str(tmp_path / 'cli.csv')], cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'at its own thresholds' in res.stdout and (tmp_path / 'cli.csv').is_file()
    plain = osp.join(root, 'configs', 'fashion_mnist',
                     'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    res = subprocess.run([sys.executable, 'tools/benchmark.py', 'forced-ratio', plain,
                          '--cfg-options', 'model.threshold=0.5'], cwd=root,
                         capture_output=True, text=True)
    assert res.returncode != 0 and 'unrecognized arguments: --cfg-options' in res.stderr
    res = subprocess.run([sys.executable, 'tools/benchmark.py', 'forced-ratio', cfg], cwd=root,
                         capture_output=True, text=True)  # an ESN has no single threshold
    assert res.returncode != 0 and 'tools/benchmark.py at-thresholds CONFIG' in res.stderr
