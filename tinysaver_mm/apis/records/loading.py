"""Reading record files back: any task's, and the aligned classification views calibration needs."""
import json
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from tinysaver_mm.core import CONFIDENCE_RULES

__all__ = ['records_kind', 'load_records', 'check_distinct', 'check_aligned', 'load_pair',
           'load_exits']

_KINDS = {'labels': ('classification records', 'tools/calibrate.py or tools/select_saver.py'),
          'img_ids': ('detection records', 'tools/train_evaluator.py'),
          'img_paths': ('segmentation records', 'tools/train_evaluator.py')}


def records_kind(path: str) -> str:
    """``'classification'``, ``'detection'`` or ``'segmentation'`` records.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a readable record file of a known kind.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'records {path!r} do not exist; make them with '
                                'tools/record.py.')
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
    except Exception as err:
        raise ValueError(f'{path!r} is not a readable record file ({type(err).__name__}): '
                         'make records with tools/record.py.') from None
    for key, (kind, _) in _KINDS.items():
        if key in keys:
            return kind.split()[0]
    raise ValueError(f'{path!r} holds none of {sorted(_KINDS)}: it is not a tools/record.py '
                     'record file.')


def load_records(path: str, count_key: str = 'labels', what: str = 'records',
                 required: Sequence[str] = ()) -> dict:
    """Load one ``.npz`` record file with its metadata under ``meta``.

    Args:
        path (str): The file.
        count_key (str): Array with one entry per sample (checked non-empty):
            ``'labels'`` for classification records, ``'img_ids'`` for
            detection records, ``'img_paths'`` for segmentation records.
        what (str): What to call the file in messages.
        required (Sequence[str]): Arrays the caller needs.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a record file (damaged, truncated, another
            kind of file, the other task's records), misses a field, holds no
            sample, or has confidences that are not finite (with the count).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} do not exist; make them with '
                                'tools/record.py.')
    try:
        with np.load(path, allow_pickle=False) as f:
            rec = {k: f[k] for k in f.files}
    except Exception as err:  # numpy raises BadZipFile, OSError, ValueError, EOFError...
        raise ValueError(f'{path!r} is not a readable record file ({type(err).__name__}: '
                         f'{str(err)[:120]}): it is damaged, truncated or another kind of '
                         'file. Make records with tools/record.py.') from None
    if 'meta' not in rec:
        raise ValueError(f'{path!r} has no "meta" field: it is not a tools/record.py record '
                         'file. Make records with tools/record.py.')
    rec['meta'] = json.loads(str(rec['meta']))
    if count_key not in rec:
        other = next((k for k in _KINDS if k != count_key and k in rec), None)
        if other is not None:
            kind, tool = _KINDS[other]
            raise ValueError(f'{path!r} holds {kind}, not {what}; give it to {tool}.')
        raise ValueError(f'{what} {path!r} have no {count_key!r} field; re-record them '
                         'with tools/record.py.')
    missing = [k for k in required if k not in rec]
    if missing:
        raise ValueError(f'{what} {path!r} miss the field(s) {missing} (present: '
                         f'{sorted(k for k in rec if k != "meta")}); re-record them with '
                         'this version of tools/record.py.')
    if rec[count_key].size == 0:
        raise ValueError(f'{what} {path!r} are empty.')
    for key, value in rec.items():
        if key.startswith(('conf_', 'probs', 'policy_')) and value.dtype.kind == 'f':
            bad = int((~np.isfinite(value)).sum())
            if bad:
                raise ValueError(
                    f'{what} {path!r}: {bad} of {value.size} values of {key!r} are not finite '
                    '(NaN/inf: e.g. NaN pixels or an overflowing model). A threshold fitted on '
                    'them would be meaningless; fix the inputs or the model and re-record.')
    return rec


def check_distinct(paths: Sequence[str], records: Optional[Dict[str, dict]] = None) -> None:
    """Refuse one record file given twice, or two files recording the same weights.

    A cascade's records are one file per stage; the same file as saver and
    base (or one model recorded twice) would calibrate a cascade of a model
    with itself, whose "MACs saved" is 0 %.

    Args:
        paths (Sequence[str]): The record files, in the order given.
        records (dict, optional): Path to loaded records; when given, two
            stage records (not an ESN's routing steps, which may share a
            part) with the same weights fingerprint are refused too.

    Raises:
        ValueError: Naming the file given twice, or the two files of one model.
    """
    seen: Dict[str, str] = {}
    for path in paths:
        real = osp.realpath(path)
        if real in seen:
            same = '' if seen[real] == path else f' (as {seen[real]!r} and {path!r})'
            raise ValueError(
                f'The record file {path!r} is given twice{same}: a cascade needs one record '
                'file per stage (e.g. ..._saver.npz ..._base.npz from one tools/record.py '
                'run), in order.')
        seen[real] = path
    if records is None:
        return
    fps: Dict[str, str] = {}
    for path in paths:
        meta = records[path]['meta']
        fp = None if meta.get('route_steps') else meta.get('fingerprint')
        if fp is not None and fp in fps:
            raise ValueError(
                f'The record files {fps[fp]!r} and {path!r} record the same weights '
                f'(fingerprint {fp[:12]}...): a cascade of one model with itself saves '
                'nothing. Give the records of each stage of the cascade, in order.')
        if fp is not None:
            fps[fp] = path


def check_aligned(records: Dict[str, dict]) -> None:
    """Refuse records that do not describe the same samples in the same order.

    Args:
        records (dict): Name to loaded records.

    Raises:
        ValueError: Naming the first pair that differs in dataset, split,
            augmentation, sample order, labels or class count.
    """
    items = list(records.items())
    ref_name, ref = items[0]
    for name, rec in items[1:]:
        for key in ('dataset', 'split', 'aug', 'num_classes'):
            if rec['meta'][key] != ref['meta'][key]:
                raise ValueError(
                    f'records {name!r} and {ref_name!r} differ in {key}: '
                    f'{rec["meta"][key]!r} vs {ref["meta"][key]!r}. Record both '
                    'models on the same data with the same tools/record.py options.')
        if not np.array_equal(rec['sample_idx'], ref['sample_idx']):
            raise ValueError(f'records {name!r} and {ref_name!r} list different '
                             'samples or a different order; re-record both.')
        if not np.array_equal(rec['labels'], ref['labels']):
            raise ValueError(f'records {name!r} and {ref_name!r} have different '
                             'ground-truth labels for the same samples.')


def load_pair(saver: str, base: str, rule: str = 'max_prob') -> dict:
    """Load aligned saver/base records into the arrays calibration needs.

    Returns:
        dict: ``confidence``, ``saver_correct``, ``base_correct``,
        ``saver_probs`` arrays and ``gmacs_saver``, ``gmacs_base`` (GMACs per
        image), plus ``meta`` (the saver's) and ``base_fingerprint``.

    Raises:
        ValueError: On an unknown rule, misaligned records, or one file (or
            one model's records) given as both stages.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'rule {rule!r} is unknown; choose one of {sorted(CONFIDENCE_RULES)}.')
    need = ('pred', 'labels', 'sample_idx', f'conf_{rule}')
    check_distinct([saver, base])
    recs = {saver: load_records(saver, required=need), base: load_records(base, required=need)}
    check_distinct([saver, base], recs)
    check_aligned(recs)
    s, b = recs[saver], recs[base]
    _route_steps([s['meta'], b['meta']])  # refuses an ESN's steps: it has more than two
    return dict(confidence=s[f'conf_{rule}'], saver_correct=s['pred'] == s['labels'],
                base_correct=b['pred'] == b['labels'], saver_probs=s.get('probs'),
                gmacs_saver=s['meta']['macs_per_img'] / 1e9,
                gmacs_base=b['meta']['macs_per_img'] / 1e9, meta=s['meta'],
                base_meta=b['meta'], base_fingerprint=b['meta'].get('fingerprint'))


def load_exits(records: Sequence[str], rule: str = 'max_prob') -> dict:
    """Load aligned records of every exit of a cascade, in order.

    Either one record per stage of a k-stage cascade (each stage's MACs are
    its own whole cost) or the routing steps of an ESN from one
    ``tools/record.py`` run (each step's MACs are what it adds; all of them,
    in order, are needed).

    Returns:
        dict: ``names`` (the routing steps', or ``saver``, ``mid0``...,
        ``base``), ``confidences``, ``corrects`` (lists), ``gmacs``
        (what each exit adds, GMACs/img), ``gmacs_base_alone``,
        ``route_steps`` (bool), ``metas``.

    Raises:
        ValueError: On an unknown rule, misaligned records, a file (or one
            model's records) given twice, or routing-step records that are not
            every step of one run, in order.
    """
    if rule not in CONFIDENCE_RULES:
        raise ValueError(f'rule {rule!r} is unknown; choose one of {sorted(CONFIDENCE_RULES)}.')
    need = ('pred', 'labels', 'sample_idx', f'conf_{rule}')
    check_distinct(records)
    recs = {p: load_records(p, required=need) for p in records}
    check_distinct(records, recs)
    check_aligned(recs)
    metas = [r['meta'] for r in recs.values()]
    steps = _route_steps(metas)
    gmacs = [m['macs_per_img'] / 1e9 for m in metas]
    # routing steps by their own names; stages as a cascade names them
    names = [m['stage'] for m in metas] if steps else \
        (['saver'] + [f'mid{i}' for i in range(len(metas) - 2)] + ['base'])[-len(metas):]
    return dict(names=names,
                confidences=[r[f'conf_{rule}'] for r in recs.values()],
                corrects=[r['pred'] == r['labels'] for r in recs.values()],
                gmacs=gmacs, route_steps=steps, metas=metas,
                gmacs_base_alone=metas[0]['macs_base_alone'] / 1e9 if steps else gmacs[-1])


def _route_steps(metas: Sequence[dict]) -> bool:
    """Whether records are a TinySaverESN's routing steps (then all of one run's, in order).

    Raises:
        ValueError: If some are routing steps but not every step of one run, in
            order (a step's MACs are what it adds to the ones before it).
    """
    steps = [m.get('route_steps') for m in metas]
    if not any(steps):
        return False
    names = [m['stage'] for m in metas]
    recorded = next(s for s in steps if s)
    if not all(steps) or any(s != recorded for s in steps) or names != recorded or \
            len({m['config'] for m in metas}) != 1:
        raise ValueError(
            f'These are routing steps of a TinySaverESN but not every step of one run in '
            f'order: got steps {names}, the run recorded {recorded}. Give all of them, in '
            'order (a step\'s MACs are what it adds to the ones before it): '
            + ' '.join(f'..._{s}.npz' for s in recorded) + '.')
    return True
