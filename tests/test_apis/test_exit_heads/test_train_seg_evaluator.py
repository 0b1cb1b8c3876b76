"""The segmentation evaluator head and the policy comparison, on synthetic records."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg')

from tinysaver_mm.apis.exit_heads import train_seg_evaluator  # noqa: E402
from tinysaver_mm.core.seg_features import seg_feature_dim  # noqa: E402
from tinysaver_mm.evaluation.functional import (areas_miou, image_iou_gap,  # noqa: E402
                                                routed_miou)
from tinysaver_mm.models.segmentors import TinySaverSegEvaluatorHead  # noqa: E402
from tinysaver_mm.utils import OutputExistsError  # noqa: E402

C = 4


def _records(tmp_path, n=240, seed=0):
    """Per-image areas of a saver that is sometimes much worse than the base, a
    feature row that (noisily) says when, and a confidence rule that does not."""
    rng = np.random.default_rng(seed)
    label = rng.integers(50, 200, (n, C))
    hard = rng.random(n) < 0.4
    def areas(quality):
        inter = (label * quality[:, None]).astype(np.int64)
        pred = label.copy()
        return np.stack([inter, label + pred - inter, pred, label], 1)
    sa = areas(np.where(hard, 0.3, 0.915))  # easy images: within the tolerance
    ba = areas(np.full(n, 0.92))
    feats = rng.normal(size=(n, seg_feature_dim(C))).astype(np.float32)
    feats[:, 0] = hard + rng.normal(0, 0.3, n)
    meta = dict(num_classes=C, rules=['mean_max_prob'], saver_fingerprint='cd' * 32,
                classes=[], split='holdout')
    path = str(tmp_path / 'seg.npz')
    np.savez_compressed(path, meta=json.dumps(meta), img_paths=np.array([f'{i}.png' for i in range(n)]),
                        saver_areas=sa, base_areas=ba, saver_feats=feats,
                        conf_mean_max_prob=rng.random(n), macs_saver=np.full(n, 10 ** 6),
                        macs_base=np.full(n, 10 ** 8))
    return path, sa, ba


def test_head_learns_the_gap_and_every_policy_keeps_the_drop(tmp_path):
    path, sa, ba = _records(tmp_path)
    out, res = str(tmp_path / 'ev.pth'), str(tmp_path / 'sum.json')
    s = train_seg_evaluator(path, out, max_drop=0.01, results=res, steps=200)
    assert s['auc_calib']['evaluator'] > 0.85 > s['auc_calib']['mean_max_prob'] + 0.2
    cal = slice(s['num_fit'], len(sa))
    base = areas_miou(ba[cal])
    assert s['base_miou_calib'] == pytest.approx(base)
    head = TinySaverSegEvaluatorHead(C)
    ckpt = torch.load(out, weights_only=True)
    head.load_state_dict(ckpt['state_dict'], strict=True)
    assert head.trained_for == bytes.fromhex('cd' * 32)
    assert ckpt['meta']['threshold'] == s['policies']['evaluator']['threshold']
    scores = head.score(torch.from_numpy(np.load(path)['saver_feats'])).numpy()[cal]
    for name, row in s['policies'].items():
        # the routed mIoU recomputed from the areas, at the row's threshold
        score = scores if name == 'evaluator' else None
        if score is not None:
            exits = score >= row['threshold']
            assert routed_miou(sa[cal], ba[cal], exits) == pytest.approx(row['miou'])
        assert base - row['miou'] <= 0.01 + 1e-12
    assert s['policies']['evaluator']['macs_saved_pct'] > \
        s['policies']['mean_max_prob']['macs_saved_pct'] + 10
    oracle_gap = image_iou_gap(sa[cal], ba[cal])
    assert s['policies']['oracle']['exit_ratio'] >= (oracle_gap <= 0).mean() - 0.02
    assert json.load(open(res))['policies'].keys() == s['policies'].keys()
    assert (tmp_path / 'sum.png').stat().st_size > 0


def test_outputs_are_protected_and_bad_arguments_refused(tmp_path):
    path, _, _ = _records(tmp_path, n=60)
    out = str(tmp_path / 'ev.pth')
    open(out, 'w').write('mine')
    with pytest.raises(OutputExistsError, match='ev.pth'):
        train_seg_evaluator(path, out)
    assert open(out).read() == 'mine'
    with pytest.raises(ValueError, match='own input'):
        train_seg_evaluator(path, path, overwrite=True)
    with pytest.raises(ValueError, match='calib_fraction'):
        train_seg_evaluator(path, str(tmp_path / 'x.pth'), calib_fraction=1.0)
    with pytest.raises(ValueError, match='max_drop'):
        train_seg_evaluator(path, str(tmp_path / 'x.pth'), max_drop=3)
    with pytest.raises(ValueError, match='too few'):
        train_seg_evaluator(path, str(tmp_path / 'x.pth'), calib_fraction=0.9)


def test_head_refuses_another_class_count():
    head = TinySaverSegEvaluatorHead(C)
    with pytest.raises(ValueError, match='built for 4 classes but the saver gives \\[3\\]'):
        head.inputs([torch.rand(3, 5, 5).softmax(0)])
    assert head.inputs([torch.rand(C, 5, 5).softmax(0)]).shape == (1, head.in_channels)
    with pytest.raises(ValueError, match='num_classes=1'):
        TinySaverSegEvaluatorHead(1)


def test_train_evaluator_tool_takes_segmentation_records(tmp_path):
    import os.path as osp
    import subprocess
    import sys
    path, _, _ = _records(tmp_path, n=80)
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
    p = subprocess.run([sys.executable, osp.join(root, 'tools/train_evaluator.py'), path,
                        '--out', str(tmp_path / 'ev.pth'), '--steps', '50'],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert 'mIoU' in p.stdout and 'evaluator' in p.stdout and 'oracle' in p.stdout
    meta = torch.load(str(tmp_path / 'ev.pth'), weights_only=True)['meta']
    assert meta['head_cfg']['type'] == 'TinySaverSegEvaluatorHead'
    p = subprocess.run([sys.executable, osp.join(root, 'tools/train_evaluator.py'), path,
                        '--out', str(tmp_path / 'ev2.pth'), '--features'],
                       capture_output=True, text=True)
    assert p.returncode != 0 and '--features is for detection records' in p.stderr
