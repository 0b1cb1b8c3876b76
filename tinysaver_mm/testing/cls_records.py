"""Synthetic classification record files (the format of ``tools/record.py``)."""
import json

import numpy as np

__all__ = ['write', 'pair']


def write(path, probs, labels, macs, order=None, **meta_kw) -> str:
    """Write a classification record file as ``tools/record.py`` does.

    Args:
        path: Output ``.npz``.
        probs (np.ndarray): ``(N, C)`` probabilities.
        labels (np.ndarray): ``(N, )`` labels.
        macs (int): MACs per image of the recorded stage.
        order (np.ndarray, optional): ``sample_idx`` (default ``0..N-1``).
        **meta_kw: Metadata fields to replace.

    Returns:
        str: ``path``.
    """
    n = len(labels)
    idx = np.arange(n) if order is None else order
    meta = dict(config='c.py', checkpoint=None, split='val', aug=False,
                dataset=dict(type='X', data_root='d', split='train', indices='None'),
                num_samples=n, stage='model', num_classes=probs.shape[1], macs_per_img=macs)
    meta.update(meta_kw)
    np.savez(path, probs=probs.astype(np.float16), pred=probs.argmax(1), labels=labels,
             sample_idx=idx, meta=json.dumps(meta), conf_max_prob=probs.max(1),
             conf_margin=probs.max(1), conf_entropy=probs.max(1))
    return str(path)


def pair(tmp_path, n=2000, seed=0, saver_meta=None, base_meta=None) -> tuple:
    """Saver/base records of one synthetic split: the saver is right more
    often when it is sure, the base is right on 95% of the samples.

    ``saver_meta`` / ``base_meta`` (dicts) replace metadata fields of each.

    Returns:
        tuple: ``(saver_path, base_path)`` in ``tmp_path``.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, n)
    conf = rng.random(n)
    right = rng.random(n) < 0.55 + 0.45 * conf          # saver: right when sure
    pred = np.where(right, labels, (labels + 1) % 5)
    probs = np.full((n, 5), 0.0)
    probs[np.arange(n), pred] = 0.2 + 0.8 * conf
    probs[np.arange(n), (pred + 2) % 5] = 0.8 * (1 - conf)
    base_right = rng.random(n) < 0.95
    bpred = np.where(base_right, labels, (labels + 1) % 5)
    bprobs = np.eye(5)[bpred] * 0.9 + 0.02
    return (write(tmp_path / 's.npz', probs, labels, 1_000_000, **(saver_meta or {})),
            write(tmp_path / 'b.npz', bprobs, labels, 20_000_000, **(base_meta or {})))
