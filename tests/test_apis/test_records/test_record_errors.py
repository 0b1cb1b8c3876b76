"""Record files that are damaged, of the other task, incomplete or not finite: named errors."""
import json

import numpy as np
import pytest

from tinysaver_mm.apis import load_records
from tinysaver_mm.apis import load_pair
from tinysaver_mm.apis.records import load_det_records


def _cls(path, n=20, conf=None, drop=()):
    rng = np.random.default_rng(0)
    arrays = dict(labels=rng.integers(0, 3, n), pred=rng.integers(0, 3, n),
                  sample_idx=np.arange(n), conf_max_prob=rng.random(n) if conf is None else conf,
                  probs=np.full((n, 3), 1 / 3, dtype=np.float16))
    meta = dict(dataset='d', split='val', aug=False, num_classes=3, macs_per_img=10)
    arrays = {k: v for k, v in arrays.items() if k not in drop}
    np.savez(path, meta=json.dumps(meta), **arrays)
    return str(path)


@pytest.mark.parametrize('content', [b'', b'hello', b'PK\x03\x04 truncated'])
def test_damaged_or_foreign_files(tmp_path, content):
    path = tmp_path / 'r.npz'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r'r\.npz.*not a readable record file'):
        load_records(str(path))


def test_truncated_real_record_file(tmp_path):
    path = _cls(tmp_path / 'r.npz')
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    with pytest.raises(ValueError, match='not a readable record file'):
        load_records(path)


def test_other_tasks_records_and_missing_fields(tmp_path):
    det = tmp_path / 'det.npz'
    np.savez(det, meta=json.dumps({}), img_ids=np.arange(3))
    with pytest.raises(ValueError, match='holds detection records.*train_evaluator'):
        load_records(str(det))
    cls = _cls(tmp_path / 'cls.npz')
    with pytest.raises(ValueError, match='holds classification records.*calibrate'):
        load_det_records(cls)
    with pytest.raises(ValueError, match=r"miss the field\(s\) \['ori_shapes'"):
        load_det_records(str(det))
    np.savez(tmp_path / 'nometa.npz', labels=np.arange(3))
    with pytest.raises(ValueError, match='no "meta" field'):
        load_records(str(tmp_path / 'nometa.npz'))
    nocf = _cls(tmp_path / 'nocf.npz', drop=('conf_max_prob', ))
    with pytest.raises(ValueError, match="conf_max_prob"):
        load_pair(nocf, _cls(tmp_path / 'base.npz'))  # (one file twice is refused first)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_confidences_are_refused_with_their_count(tmp_path, bad):
    conf = np.random.default_rng(1).random(20)
    conf[[3, 7]] = bad
    path = _cls(tmp_path / 'r.npz', conf=conf)
    with pytest.raises(ValueError, match="2 of 20 values of 'conf_max_prob' are not finite"):
        load_pair(path, _cls(tmp_path / 'b.npz'))
