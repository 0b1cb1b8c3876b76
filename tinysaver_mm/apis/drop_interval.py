"""The top-1 drop vs the base with its 95 % interval, for tools/calibrate.py and tools/test.py.

The maths is :func:`tinysaver_mm.core.paired_drop_interval`; this module only
pairs the per-image answers: from record files (``tools/record.py``) at given
thresholds, or from a test run's predictions against a reference's.
"""
import os.path as osp
import pickle
from typing import Sequence, Tuple

import numpy as np

from tinysaver_mm.core import paired_drop_interval
from tinysaver_mm.core.calibration import answer_correct, answering_stage
from .records import load_exits

__all__ = ['records_drop_interval', 'predictions_drop_interval', 'load_correct',
           'format_drop_interval']


def records_drop_interval(records: Sequence[str], thresholds: Sequence[float],
                          rule: str = 'max_prob', level: float = 0.95) -> dict:
    """Drop of the cascade routed at ``thresholds`` vs its last stage, on records.

    Args:
        records (Sequence[str]): Every stage's (or routing step's) records in
            order, as :func:`tinysaver_mm.apis.calibrate.load_exits` takes them.
        thresholds (Sequence[float]): One per stage but the last.
        rule (str): Exit rule whose confidence decides the exits.
        level (float): Coverage of the interval.

    Returns:
        dict: :func:`~tinysaver_mm.core.paired_drop_interval`'s result.

    Raises:
        ValueError: On misaligned records or a wrong number of thresholds.
    """
    d = load_exits(records, rule)
    if len(thresholds) != len(records) - 1:
        raise ValueError(f'{len(records)} record files need {len(records) - 1} thresholds, '
                         f'got {list(thresholds)}.')
    n = len(d['corrects'][0])
    cascade = answer_correct(answering_stage(d['confidences'], list(thresholds), n),
                             d['corrects'])
    return paired_drop_interval(d['corrects'][-1], cascade, level)


def _label(value) -> int:
    """One integer label from a tensor/array/int field of a dumped sample."""
    arr = np.asarray(value.cpu() if hasattr(value, 'cpu') else value).reshape(-1)
    if arr.size != 1:
        raise ValueError(f'expected one label per image, got {arr.tolist()[:5]}')
    return int(arr[0])


def load_correct(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Per-image right/wrong of a classifier's answers, by dataset index.

    Args:
        path (str): ``.pkl`` predictions written by ``tools/test.py --out``,
            or ``.npz`` records written by ``tools/record.py``.

    Returns:
        tuple: ``sample_idx`` (int array) and ``correct`` (bool array).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is neither kind of file, or its samples carry no
            ``pred_label``/``gt_label``/``sample_idx`` (not a classifier's).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path!r} does not exist: write it with tools/test.py '
                                'CONFIG --out PREDS.pkl, or tools/record.py CONFIG --split test.')
    if path.endswith('.npz'):
        from .records import load_records
        rec = load_records(path, required=('pred', 'labels', 'sample_idx'))
        return np.asarray(rec['sample_idx'], dtype=np.int64), rec['pred'] == rec['labels']
    if not path.endswith('.pkl'):
        raise ValueError(f'{path!r}: give the .pkl of tools/test.py --out or the .npz of '
                         'tools/record.py.')
    with open(path, 'rb') as f:
        samples = pickle.load(f)
    if not isinstance(samples, list) or not samples:
        raise ValueError(f'{path!r} holds no list of per-image predictions; write it with '
                         'tools/test.py CONFIG --out PREDS.pkl.')
    idx, correct = [], []
    for i, s in enumerate(samples):
        missing = [k for k in ('pred_label', 'gt_label', 'sample_idx')
                   if not isinstance(s, dict) or k not in s]
        if missing:
            raise ValueError(f'{path!r}: image {i} has no {missing}: the top-1 drop is a '
                             'classifier\'s (pred_label vs gt_label).')
        try:
            correct.append(_label(s['pred_label']) == _label(s['gt_label']))
        except ValueError as err:
            raise ValueError(f'{path!r}: image {i}: {err}.') from None
        idx.append(int(s['sample_idx']))
    return np.asarray(idx, dtype=np.int64), np.asarray(correct, dtype=bool)


def predictions_drop_interval(reference: str, cascade: str, level: float = 0.95) -> dict:
    """Drop of a test run vs a reference model's answers on the same images.

    Args:
        reference (str): The reference's (the base alone's) ``.pkl`` or
            ``.npz`` (see :func:`load_correct`).
        cascade (str): The cascade's ``.pkl`` (``tools/test.py --out``).
        level (float): Coverage of the interval.

    Returns:
        dict: :func:`~tinysaver_mm.core.paired_drop_interval`'s result.

    Raises:
        ValueError: If the two files do not hold the same images, each once.
    """
    ref_idx, ref_ok = load_correct(reference)
    new_idx, new_ok = load_correct(cascade)
    for name, idx in ((reference, ref_idx), (cascade, new_idx)):
        if np.unique(idx).size != idx.size:
            raise ValueError(f'{name!r} holds some images more than once (sample_idx repeats).')
    if not np.array_equal(np.sort(ref_idx), np.sort(new_idx)):
        only = np.setdiff1d(new_idx, ref_idx).size + np.setdiff1d(ref_idx, new_idx).size
        raise ValueError(f'{reference!r} ({ref_idx.size} images) and {cascade!r} '
                         f'({new_idx.size}) are not the same images ({only} in only one): '
                         'run both on the same test split.')
    return paired_drop_interval(ref_ok[np.argsort(ref_idx)], new_ok[np.argsort(new_idx)], level)


def format_drop_interval(d: dict, reference: str = 'the base') -> str:
    """One line: the drop in points with its interval and the discordant counts."""
    pts = 100.0 * np.array([d['drop'], d['low'], d['high']])
    return (f'top-1 drop vs {reference}: {pts[0]:+.2f} points, {100 * d["level"]:.0f} % interval '
            f'[{pts[1]:+.2f}, {pts[2]:+.2f}] ({d["method"]}, {d["n"]} images; '
            f'{d["lost"]} lost, {d["gained"]} gained)')
