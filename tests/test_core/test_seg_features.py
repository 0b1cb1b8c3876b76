"""Per-image features of segmentation probabilities vs a numpy brute force."""
import math

import numpy as np
import pytest
import torch

from tinysaver_mm.core.seg_features import seg_exit_features, seg_feature_dim


def _brute(p):
    c = p.shape[0]
    flat = p.reshape(c, -1)
    maxp, label = flat.max(0), flat.argmax(0)
    srt = np.sort(flat, 0)
    ent = -(np.clip(flat, 1e-12, None) * np.log(np.clip(flat, 1e-12, None))).sum(0) / math.log(c)
    h1 = [np.mean((np.minimum((maxp * 10).astype(int), 9)) == b) for b in range(10)]
    h2 = [np.mean((np.minimum(((1 - ent) * 5).astype(int), 4)) == b) for b in range(5)]
    area = [np.mean(label == k) for k in range(c)]
    conf = [maxp[label == k].mean() if (label == k).any() else 0.0 for k in range(c)]
    return np.array(h1 + h2 + area + conf + [maxp.mean(), np.quantile(maxp, 0.1),
                                             (srt[-1] - srt[-2]).mean()])


def test_rows_equal_the_brute_force_for_images_of_different_sizes():
    rng = np.random.default_rng(0)
    probs = []
    for hw in ((7, 9), (12, 5), (3, 3)):
        logits = rng.normal(size=(4, *hw)) * rng.uniform(0.5, 4)
        probs.append(torch.from_numpy(np.exp(logits) / np.exp(logits).sum(0)))
    rows = seg_exit_features(probs)
    assert rows.shape == (3, seg_feature_dim(4)) and rows.dtype == torch.float32
    for row, p in zip(rows, probs):
        assert np.allclose(row.numpy(), _brute(p.numpy()), atol=1e-6)


def test_bad_probabilities_are_refused():
    with pytest.raises(ValueError, match='different class counts'):
        seg_exit_features([torch.rand(3, 2, 2), torch.rand(4, 2, 2)])
    with pytest.raises(ValueError, match='at least 2 classes'):
        seg_exit_features([torch.rand(1, 2, 2)])
    bad = torch.full((3, 2, 2), 1 / 3)
    bad[0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='Non-finite'):
        seg_exit_features([bad])
