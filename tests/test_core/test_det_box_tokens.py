"""core.det_box_tokens: each token part against a brute-force loop over the boxes."""
import numpy as np
import pytest
import torch

from tinysaver_mm.core import (CANDIDATE_PARTS, FLIP_PARTS, TOKEN_PARTS, box_tokens,
                               token_dim)


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])  # noqa: E731
    return inter / max(area(a) + area(b) - inter, 1e-6)


def _dets(seed=0, n=7, num_classes=3):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60, (n, 2))
    wh = rng.uniform(5, 30, (n, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    boxes[3] = boxes[1] + rng.normal(0, 2, 4)  # a near-duplicate
    return (torch.tensor(rng.uniform(0.05, 1, n), dtype=torch.float32),
            torch.tensor(rng.integers(0, num_classes, n)),
            torch.tensor(boxes, dtype=torch.float32))


def test_box_tokens_match_brute_force():
    s, lab, b = _dets()
    fs, fl, fb = _dets(seed=1)
    fb[:3] = b[:3] + 1.0
    fl[:3] = lab[:3]
    cs, cl, cb = _dets(seed=2, n=15)
    cb[:5] = b[:5] + 0.5
    cl[:5] = lab[:5]
    hw, k = (80, 100), 10
    tok, mask = box_tokens(s, lab, b, hw, 3, k, flip_dets=(fs, fl, fb), candidates=(cs, cl, cb))
    assert tok.shape == (k, token_dim(3, True, True)) and mask.tolist() == [1] * 7 + [0] * 3
    assert not tok[7:].any()
    order = np.argsort(-s.numpy(), kind='stable')
    parts = TOKEN_PARTS + FLIP_PARTS + CANDIDATE_PARTS
    col = {p: i for i, p in enumerate(parts)}
    B, S, L = b.numpy().astype(float), s.numpy().astype(float), lab.numpy()
    for r, i in enumerate(order):
        row = tok[r].numpy()
        assert row[col['score']] == pytest.approx(S[i])
        assert row[col['rank']] == pytest.approx(r / k)
        assert row[col['cx']] == pytest.approx((B[i, 0] + B[i, 2]) / 200, rel=1e-5)
        assert row[col['size']] == pytest.approx(
            np.sqrt((B[i, 2] - B[i, 0]) * (B[i, 3] - B[i, 1]) / 8000), rel=1e-5)
        above = order[:r]
        assert row[col['iou_better']] == pytest.approx(
            max([_iou(B[i], B[j]) for j in above], default=0.0), abs=1e-6)
        assert row[col['iou_better_same']] == pytest.approx(
            max([_iou(B[i], B[j]) for j in above if L[j] == L[i]], default=0.0), abs=1e-6)
        assert row[col['rival']] == pytest.approx(
            sum(S[j] for j in range(7) if L[j] != L[i] and _iou(B[i], B[j]) >= 0.5), abs=1e-6)
        assert row[col['neighbours']] == pytest.approx(
            np.log1p(sum(1 for j in range(7) if j != i and _iou(B[i], B[j]) >= 0.5)), abs=1e-6)
        flip = [(_iou(B[i], f), float(fs[j])) for j, f in enumerate(fb.numpy().astype(float))
                if int(fl[j]) == L[i]]
        best = max(flip, default=(0.0, 0.0), key=lambda t: t[0])
        assert row[col['flip_iou']] == pytest.approx(best[0], abs=1e-6)
        assert row[col['flip_score']] == pytest.approx(best[1] if best[0] > 0 else 0.0, abs=1e-6)
        near = [(_iou(B[i], c), float(cs[j])) for j, c in enumerate(cb.numpy().astype(float))
                if int(cl[j]) == L[i] and _iou(B[i], c) >= 0.5]
        assert row[col['cand_count']] == pytest.approx(np.log1p(len(near)), abs=1e-6)
        if near:
            w = np.array([c[1] for c in near])
            ious = np.array([c[0] for c in near])
            assert row[col['cand_spread']] == pytest.approx(1 - (w * ious).sum() / w.sum(),
                                                            abs=1e-5)
            assert row[col['cand_score_std']] == pytest.approx(w.std(), abs=1e-5)
        assert row[len(parts) + L[i]] == 1 and row[len(parts):].sum() == 1


def test_box_tokens_keep_the_best_boxes_and_refuse_bad_labels():
    s, lab, b = _dets(n=7)
    tok, mask = box_tokens(s, lab, b, (80, 100), 3, max_boxes=3)
    assert mask.tolist() == [1, 1, 1]
    assert tok[:, 0].tolist() == pytest.approx(sorted(s.tolist(), reverse=True)[:3])
    empty, m0 = box_tokens(torch.zeros(0), torch.zeros(0, dtype=torch.long), torch.zeros(0, 4),
                           (80, 100), 3, 4)
    assert not empty.any() and not m0.any()
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        box_tokens(s, lab + 3, b, (80, 100), 3)
    with pytest.raises(ValueError, match='one of each per detection'):
        box_tokens(s[:2], lab, b, (80, 100), 3)
