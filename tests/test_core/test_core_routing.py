"""core.route_batch on per-sample outputs and with per-row state, against brute force."""
import pytest
import torch

from tinysaver_mm.core import route_batch, take_rows


@pytest.mark.parametrize('thresholds', [[0.5], [0.0], [1.0], [0.6, 0.4], [0.3, 0.9, 0.5]])
@pytest.mark.parametrize('n', [1, 2, 13])
def test_list_outputs_and_state_match_brute_force(thresholds, n):
    """Outputs are per-row dicts (not a stacked tensor); each stage carries a state
    per row (here: the running sum of the stage indices that saw the row)."""
    g = torch.Generator().manual_seed(n)
    conf = torch.rand(len(thresholds) + 1, n, generator=g)
    calls = []

    def run(stage, rows, state):
        idx = torch.arange(n) if rows is None else rows
        calls.append((stage, idx.tolist(), None if state is None else state.tolist()))
        if stage == 0:
            assert state is None
            state = torch.zeros(len(idx))
        else:
            assert state.shape == (len(idx), )
        outs = [dict(stage=stage, row=int(r), conf=float(conf[stage, r])) for r in idx]
        return outs, state + stage

    out, answered_by, first = route_batch(run, lambda o: torch.tensor([x['conf'] for x in o]),
                                          thresholds, n, with_state=True)
    assert isinstance(out, list) and len(out) == n
    for i in range(n):
        stage = next((s for s, t in enumerate(thresholds) if conf[s, i] >= t), len(thresholds))
        assert answered_by[i] == stage
        assert out[i] == dict(stage=stage, row=i, conf=float(conf[stage, i]))
    assert torch.equal(first, conf[0])
    for stage, rows, state in calls:
        assert rows == (answered_by >= stage).nonzero().squeeze(1).tolist()
        if stage:  # the state it got is the previous stages' sum for exactly these rows
            assert state == [float(sum(range(stage)))] * len(rows)


def test_one_confidence_per_stage_and_nan_never_exits():
    outs = [torch.tensor([[0.9], [float('nan')], [0.1]]), torch.tensor([[0.2], [0.95], [0.3]]),
            torch.zeros(3, 1)]
    seen = []
    confs = [lambda o: o[:, 0], lambda o: seen.append(len(o)) or 1 - o[:, 0]]
    out, by, first = route_batch(lambda s, r: outs[s] if r is None else outs[s][r], confs,
                                 [0.5, 0.5], 3)
    assert by.tolist() == [0, 2, 1]  # NaN goes on; stage 1 exits 1 - 0.3 >= 0.5 only
    assert seen == [2]
    assert torch.isnan(first[1])


def test_a_stage_must_give_one_output_per_row_of_the_same_kind():
    with pytest.raises(ValueError, match='2 outputs for 3 rows'):
        route_batch(lambda s, r: [1, 2], lambda o: torch.zeros(len(o)), [0.5], 3)
    outs = [torch.zeros(3, 2), [1, 2, 3]]
    with pytest.raises(ValueError, match='same kind'):
        route_batch(lambda s, r: outs[s] if s == 0 else outs[s][:len(r)],
                    lambda o: torch.tensor([0.0, 1.0, 0.0]), [0.5], 3, ['saver', 'base'])


def test_take_rows_kinds():
    idx = torch.tensor([2, 0])
    assert torch.equal(take_rows(torch.arange(4) * 10, idx), torch.tensor([20, 0]))
    assert take_rows(['a', 'b', 'c'], idx) == ['c', 'a']
    assert take_rows(None, idx) is None
    with pytest.raises(TypeError, match='dict'):
        take_rows({'a': 1}, idx)
