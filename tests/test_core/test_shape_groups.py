"""shape_groups / join_rows: a batch split by image shape and put back, vs brute force."""
import pytest
import torch

from tinysaver_mm.core import join_rows, shape_groups, take_rows


def _images(shapes):
    return [torch.full(s, i, dtype=torch.uint8) for i, s in enumerate(shapes)]


def test_groups_partition_the_rows_by_shape_in_order_of_first_appearance():
    shapes = [(3, 4, 4), (3, 2, 5), (3, 4, 4), (1, 4, 4), (3, 2, 5)]
    groups = shape_groups(_images(shapes))
    want = {}
    for i, s in enumerate(shapes):  # brute force
        want.setdefault(s, []).append(i)
    assert [g.tolist() for g in groups] == list(want.values())
    assert sorted(i for g in groups for i in g.tolist()) == list(range(len(shapes)))


def test_a_stacked_tensor_or_one_shape_is_one_group():
    assert [g.tolist() for g in shape_groups(torch.zeros(3, 1, 2, 2))] == [[0, 1, 2]]
    assert [g.tolist() for g in shape_groups(_images([(1, 2, 2)] * 3))] == [[0, 1, 2]]
    assert shape_groups([]) == []


@pytest.mark.parametrize('kind', ['tensor', 'list', 'dict', 'none'])
def test_join_rows_inverts_take_rows(kind):
    shapes = [(3, 4, 4), (3, 2, 5), (3, 4, 4), (1, 4, 4), (3, 2, 5), (3, 4, 4)]
    groups = shape_groups(_images(shapes))
    whole = torch.arange(12.).reshape(6, 2)
    batch = dict(tensor=whole, list=[f'row{i}' for i in range(6)],
                 dict=dict(a=whole, b=list(range(6))), none=None)[kind]
    parts = [take_rows(batch, g) for g in groups]
    joined = join_rows(parts, groups, 6)
    if kind == 'tensor':
        assert torch.equal(joined, whole)
    elif kind == 'dict':
        assert torch.equal(joined['a'], whole) and joined['b'] == list(range(6))
    else:
        assert joined == batch


def test_join_rows_refuses_a_part_of_the_wrong_length_or_kind():
    groups = [torch.tensor([0, 2]), torch.tensor([1])]
    with pytest.raises(ValueError, match='2 rows gave 1 outputs'):
        join_rows([[1], [2]], groups, 3)
    with pytest.raises(ValueError, match='different kinds'):
        join_rows([torch.zeros(2), [1]], groups, 3)
