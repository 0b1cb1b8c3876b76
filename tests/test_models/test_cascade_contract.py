"""The contract every registered cascade type passes, against independent references.

Each case (tinysaver_mm.testing.cascade_cases) gives a small random-weight
cascade of its task; the references are each stage run alone through its host
library's own preprocessing and predict, and mmengine's MACs count of each
stage alone.
"""
import copy

import pytest
import torch

from tinysaver_mm.core import cascade_field_names
from tinysaver_mm.models.cascade import BaseCascade
from tinysaver_mm.testing.cascade_cases import CASES


def _registered_cascades():
    found = set()
    for host in ('mmpretrain', 'mmdet', 'mmseg'):
        try:
            registry = __import__(f'{host}.registry', fromlist=['MODELS']).MODELS
        except ImportError:
            continue
        for name, cls in registry.module_dict.items():
            if isinstance(cls, type) and issubclass(cls, BaseCascade):
                found.add(name)
    return found


def test_every_registered_cascade_type_has_a_contract_case():
    import tinysaver_mm  # noqa: F401
    assert _registered_cascades() == set(CASES)


@pytest.fixture(params=sorted(CASES))
def case(request):
    case = CASES[request.param]
    pytest.importorskip(case.registry)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(case.registry):
        yield case


def _copy(samples):
    return None if samples is None else copy.deepcopy(samples)


def _median(scores):
    return float(scores.median())


def test_routing_equals_each_stage_alone(case):
    model = case.build()
    inputs, samples = case.batch()
    scores = case.saver_scores(model, inputs, samples)
    t = _median(scores)
    model.threshold = case.thresholds(t)
    exits = scores >= t
    assert 0 < int(exits.sum()) < len(exits)
    ref = {r: case.alone(model, r, inputs, samples) for r in ('saver', 'base')}
    out = model.predict(inputs, _copy(samples))
    assert len(out) == len(exits)
    for i, ds in enumerate(out):
        role = 'saver' if exits[i] else 'base'
        assert ds.answered_by == role and ds.exited == bool(exits[i])
        assert case.same(case.prediction(ds), ref[role][i])
        assert ds.exit_score == pytest.approx(float(scores[i]), abs=1e-6)


def test_base_runs_once_on_exactly_the_rows_that_did_not_exit(case):
    model = case.build()
    inputs, samples = case.batch()
    scores = case.saver_scores(model, inputs, samples)
    t = _median(scores)
    model.threshold = case.thresholds(t)
    model.measure_stage_macs(inputs, samples)  # MACs measured first, as the hook does
    seen = []
    handle = case.base_entry(model).register_forward_pre_hook(
        lambda m, a: seen.append(len(a[0])))
    model.predict(inputs, _copy(samples))
    handle.remove()
    assert seen == [int((scores < t).sum())]


def test_threshold_zero_is_saver_only_and_the_base_never_runs(case):
    model = case.build(threshold=0.0)
    inputs, samples = case.batch()
    model.measure_stage_macs(inputs, samples)
    calls = []
    handle = case.base_entry(model).register_forward_pre_hook(lambda m, a: calls.append(1))
    out = model.predict(inputs, _copy(samples))
    handle.remove()
    assert calls == [] and all(ds.exited for ds in out)
    ref = case.alone(model, 'saver', inputs, samples)
    assert all(case.same(case.prediction(ds), r) for ds, r in zip(out, ref))


def test_threshold_above_every_score_is_base_only(case):
    model = case.build(threshold=1.0)
    inputs, samples = case.batch()
    assert float(case.saver_scores(model, inputs, samples).max()) < 1.0
    out = model.predict(inputs, _copy(samples))
    ref = case.alone(model, 'base', inputs, samples)
    assert not any(ds.exited for ds in out)
    assert all(case.same(case.prediction(ds), r) for ds, r in zip(out, ref))


def test_macs_add_up_and_equal_each_stage_counted_alone(case):
    model = case.build()
    inputs, samples = case.batch()
    model.threshold = case.thresholds(_median(case.saver_scores(model, inputs, samples)))
    out = model.predict(inputs, _copy(samples))
    alone = {r: case.macs_alone(model, r, inputs, samples) for r in model.stage_names}
    inner = case.inner_macs(model)
    assert alone['base'] > alone['saver'] > 0
    for ds in out:
        assert case.stage_macs_of(model, ds) == alone
        spent = alone['saver'] + (0 if ds.exited else alone['base'] + inner)
        spent += sum(ds.get(f'macs_{p}') for p in ds.cascade_overheads)
        assert ds.macs == spent


def test_every_prediction_carries_the_cascade_fields(case):
    model = case.build()
    inputs, samples = case.batch(3)
    out = model.predict(inputs, _copy(samples))
    want = cascade_field_names(model.stage_names, model.overheads)
    for ds in out:
        assert want <= set(ds.metainfo_keys())
        assert tuple(ds.cascade_stages) == model.route_names


def test_batch_bookkeeping_mismatch_and_empty(case):
    model = case.build()
    inputs, _ = case.batch(3)
    with pytest.raises(ValueError, match='3 images but 2 data samples'):
        model.predict(inputs, case.samples_for(2))
    empty = inputs[:0]
    assert model.predict(empty, case.samples_for(0)) == []


def test_nan_exit_scores_never_exit(case):
    model = case.build(threshold=0.0)
    inputs, samples = case.batch(4)
    real = model.exit_scores

    def nan_first(role, outputs, data_samples=None):
        s = real(role, outputs, data_samples).clone()
        s[0] = float('nan')
        return s

    model.exit_scores = nan_first
    out = model.predict(inputs, _copy(samples))
    assert not out[0].exited and out[0].answered_by == 'base'
    assert all(ds.exited for ds in out[1:])


def test_threshold_from_a_calibration_json(case, tmp_path):
    import json
    model = case.build()
    path = tmp_path / 'cal.json'
    path.write_text(json.dumps(dict(threshold=case.thresholds(0.25), rule=model.exit_rule)))
    model.threshold = str(path)
    assert model.threshold == case.thresholds(0.25)
    path.write_text(json.dumps(dict(threshold=0.25, rule='another_rule')))
    with pytest.raises(ValueError, match="another_rule"):
        model.threshold = str(path)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        model.threshold = str(tmp_path / 'missing.json')


def test_frozen_stages_stay_frozen_in_train_mode(case):
    model = case.build()
    model.train()
    for role in model.stage_names:
        part = getattr(model, role)
        assert not part.training
        assert not any(p.requires_grad for p in part.parameters())


def test_complexity_analysis_of_the_whole_cascade_does_not_nest_traces(case):
    from mmengine.analysis import get_model_complexity_info
    from tinysaver_mm.utils import state_dict_fingerprint
    model = case.build()
    inputs, samples = case.batch(1)
    x = inputs.float() if torch.is_tensor(inputs) else torch.stack(inputs).float()
    outside = state_dict_fingerprint(model.saver)
    inside = []
    handle = case.base_entry(model).register_forward_pre_hook(
        lambda m, a: inside.append(state_dict_fingerprint(model.saver)))
    info = get_model_complexity_info(model, inputs=(x, ), show_table=False, show_arch=False)
    handle.remove()
    assert info['flops'] > 0
    assert inside and all(f == outside for f in inside)


def test_an_images_routing_and_prediction_never_depend_on_its_batch_mates(case):
    """Each image of a mixed batch (sizes differ where the task allows) is
    routed and answered as it is on its own: a host preprocessor's padding to
    the largest image must not move its exit score."""
    model = case.build(threshold=0.0)
    inputs, samples = case.mixed_batch()
    n = len(inputs)

    def alone(i):
        return model.predict(inputs[i:i + 1], _copy(None if samples is None
                                                    else samples[i:i + 1]))[0]

    scores = torch.tensor([alone(i).exit_score for i in range(n)])
    model.threshold = case.thresholds(_median(scores))
    solo = [alone(i) for i in range(n)]
    assert 0 < sum(ds.exited for ds in solo) < n
    mixed = model.predict(inputs, _copy(samples))
    for ds, ref in zip(mixed, solo):
        assert ds.answered_by == ref.answered_by
        assert ds.exit_score == pytest.approx(ref.exit_score, abs=1e-5)
        assert case.same(case.prediction(ds), case.prediction(ref))
