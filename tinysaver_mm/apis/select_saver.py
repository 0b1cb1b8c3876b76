"""Choose a saver for a base model (``tools/select_saver.py``).

Two entry points:

* :func:`select_saver` ranks candidate savers by the paper's metric
  ``delta C_tr = c - r_e`` (:func:`tinysaver_mm.core.delta_ctr`) computed on
  records of the TRAINING split, and, when test records are given, checks the
  ranking against the MACs each candidate really saves on the test split.
* :func:`zoo_prefilter` is a record-free shortlist for ImageNet users built
  from mmpretrain's published metafiles. It is a crude ESTIMATE, not
  ``delta C_tr``: record the shortlisted models and run :func:`select_saver`.

Units: ``gmacs_*`` are GMACs per image, ``ms_per_img_*`` milliseconds per
image, ``top1_*`` are percent, ``c`` and exit ratios are fractions,
``test_macs_saved_pct`` / ``test_ms_saved_pct`` are percent of the base's MACs
/ time.
"""
import glob
import math
import os.path as osp
import warnings
from typing import List, Optional, Sequence

import numpy as np

from tinysaver_mm.core import (AccuracyDropCalibrator, cascade_macs_per_image,
                               cascade_ms_per_img, delta_ctr, macs_saved_pct)
from tinysaver_mm.utils import check_outputs
from tinysaver_mm.utils.report import write_csv
from tinysaver_mm.visualization import plot_saver_candidates
from .cost_model import CostModel
from .records import load_pair

__all__ = ['SELECTION_COLUMNS', 'ZOO_COLUMNS', 'select_saver', 'zoo_prefilter']

SELECTION_COLUMNS = ('saver', 'gmacs_saver', 'delta_ctr', 'test_macs_saved_pct', 'c',
                     'exit_ratio_tr', 'threshold_tr', 'top1_saver_test', 'rank',
                     'gmacs_base', 'exit_ratio_test', 'threshold_test',
                     'top1_cascade_test', 'record_train', 'record_test',
                     'ms_per_img_saver', 'ms_per_img_base', 'c_latency', 'delta_ctr_latency',
                     'test_ms_saved_pct', 'rank_macs', 'rank_latency')
ZOO_COLUMNS = ('name', 'config', 'gflops', 'top1', 'c', 'est_delta_ctr')


def _candidate_names(pairs: Sequence[dict], paths: Sequence[str]) -> List[str]:
    """Model name of each saver's records, else its config basename (no ``.py``),
    else its record file name.

    Names that would repeat fall back to the record file name, so every row
    of the table stays distinguishable.
    """
    names = [p['meta'].get('model') or osp.splitext(osp.basename(p['meta'].get('config') or ''))[0]
             or osp.splitext(osp.basename(path))[0] for p, path in zip(pairs, paths)]
    return [osp.splitext(osp.basename(path))[0] if names.count(n) > 1 else n
            for n, path in zip(names, paths)]


def _operating_point(pair: dict, calibrator: AccuracyDropCalibrator,
                     name: str) -> Optional[dict]:
    """The calibrator's point on these records, or None (warning) if none fits."""
    try:
        calibrator.fit(pair['confidence'], pair['saver_correct'], pair['base_correct'])
    except ValueError as e:
        warnings.warn(f'candidate {name!r}: {e}')
        return None
    gmacs = cascade_macs_per_image([pair['gmacs_saver'], pair['gmacs_base']],
                                   [1.0, 1.0 - calibrator.exit_ratio_])
    return dict(threshold=calibrator.threshold_, exit_ratio=calibrator.exit_ratio_,
                top1=100 * calibrator.accuracy_, gmacs=gmacs,
                macs_saved_pct=macs_saved_pct(gmacs, pair['gmacs_base']))


def _check_args(saver_train: Sequence[str], base_test: Optional[str],
                saver_test: Optional[Sequence[str]], max_drop: float) -> tuple:
    """Normalised (saver_train, saver_test, max_drop), or a ValueError."""
    saver_train = [saver_train] if isinstance(saver_train, str) else list(saver_train or [])
    if isinstance(saver_test, str):
        saver_test = [saver_test]
    if not saver_train:
        raise ValueError('saver_train is empty: give the training records of at '
                         'least one candidate saver.')
    if (base_test is None) != (saver_test is None):
        raise ValueError(f'base_test={base_test!r} and saver_test={saver_test!r}: give '
                         'both (test records of the base and of every saver) or neither.')
    if saver_test is not None and len(saver_test) != len(saver_train):
        raise ValueError(f'saver_test has {len(saver_test)} records but saver_train has '
                         f'{len(saver_train)}; give one test record per candidate, in '
                         'the same order.')
    try:
        max_drop = float(max_drop)
    except (TypeError, ValueError):
        raise ValueError(f'max_drop={max_drop!r} must be a number in (0, 1).') from None
    AccuracyDropCalibrator(max_drop)  # raises, naming the value, outside (0, 1)
    return saver_train, saver_test, max_drop


def select_saver(base_train: str, saver_train: Sequence[str],
                 base_test: Optional[str] = None,
                 saver_test: Optional[Sequence[str]] = None, max_drop: float = 0.005,
                 rule: str = 'max_prob', out: str = 'results/selection.csv',
                 overwrite: bool = False, cost: CostModel = CostModel()) -> dict:
    """Rank candidate savers by ``delta C_tr`` and validate on test records.

    ``delta C_tr`` is computed on the training records only (the paper records
    the training split with its training augmentation, ``tools/record.py
    --split train --aug``). With test records, ``test_macs_saved_pct`` is the
    share of the base's MACs the cascade saves on the test split at the
    largest exit ratio whose top-1 drop is <= ``max_drop``, found by an
    :class:`AccuracyDropCalibrator` fitted on the TEST records themselves: an
    oracle saving used only to check the ranking, not a deployable threshold.
    It is ``100 * (r - c)`` for exit ratio ``r``, empty when even threshold
    1.0 drops too much (with a warning). A good metric gives a strongly
    negative Spearman rho between ``delta_ctr`` and ``test_macs_saved_pct``.

    Args:
        base_train (str): Base records of the training split (``.npz``).
        saver_train (Sequence[str]): Each candidate's records of the same
            samples; a single path is accepted too. A candidate is named by
            its record's config file name (without ``.py``), else by the
            record file name.
        base_test (str, optional): Base records of the test split.
        saver_test (Sequence[str], optional): Each candidate's test records,
            in the order of ``saver_train``.
        max_drop (float): Top-1 drop allowed at the operating points, a
            fraction in (0, 1) (0.005 = 0.5 points).
        rule (str): Exit rule, a key of ``tinysaver_mm.core.CONFIDENCE_RULES``.
        out (str): CSV path; the plot goes beside it with ``.png``.
        overwrite (bool): Replace those files when they exist.
        cost (CostModel): What ranks the candidates: ``kind='macs'`` (the
            paper's ``c = saver MACs / base MACs``) or ``'latency'`` (``c =
            saver ms / base ms`` per image at its batch size, from its latency
            table, which holds every candidate and the base by the records'
            ``model``). With a latency table both rankings are in the rows
            (``rank_macs``, ``rank_latency``), whichever ranks.

    Returns:
        dict: ``rows`` (one per candidate, best first by ``cost``, keys
        ``SELECTION_COLUMNS``; missing values are NaN), ``spearman_rho``
        and ``spearman_p`` (None unless >= 3 candidates have a test saving;
        against the saving of that cost), ``choice_macs`` and
        ``choice_latency`` (the best by each; None without a table), ``csv``
        and ``png`` paths.

    Raises:
        ValueError: On no candidate, lists of different lengths, a test base
            without test savers (or the reverse), ``max_drop`` outside (0, 1),
            an unknown rule, or records that are not aligned with the base's.
        FileNotFoundError: If a record file does not exist.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    from scipy.stats import spearmanr
    saver_train, saver_test, max_drop = _check_args(saver_train, base_test, saver_test,
                                                    max_drop)
    png = osp.splitext(out)[0] + '.png'
    check_outputs([out, png], overwrite, [base_train, base_test, *saver_train, *(saver_test or [])])
    train = [load_pair(p, base_train, rule) for p in saver_train]
    test = [load_pair(p, base_test, rule) for p in saver_test] if saver_test else None
    names = _candidate_names(train, saver_train)
    lat = _latencies(cost, train, saver_train, base_train) if cost.has_latency else None
    batch_size = cost.batch_size
    plotted = test or train
    ops = [_operating_point(p, AccuracyDropCalibrator(max_drop), n)
           for p, n in zip(plotted, names)]
    rows = []
    for i, (name, tr) in enumerate(zip(names, train)):
        m = delta_ctr(tr['confidence'], tr['saver_correct'], tr['base_correct'],
                      tr['gmacs_saver'], tr['gmacs_base'])
        row = dict(saver=name, gmacs_saver=tr['gmacs_saver'], delta_ctr=m['delta_ctr'],
                   test_macs_saved_pct=math.nan, c=m['c'], exit_ratio_tr=m['exit_ratio'],
                   threshold_tr=m['threshold'], top1_saver_test=math.nan,
                   gmacs_base=tr['gmacs_base'], exit_ratio_test=math.nan,
                   threshold_test=math.nan, top1_cascade_test=math.nan,
                   record_train=saver_train[i], record_test='', _index=i,
                   ms_per_img_saver=math.nan, ms_per_img_base=math.nan, c_latency=math.nan,
                   delta_ctr_latency=math.nan, test_ms_saved_pct=math.nan,
                   rank_macs=math.nan, rank_latency=math.nan)
        if lat:
            ms_s, ms_b = lat['savers'][i].ms_per_img(batch_size), lat['base'].ms_per_img(batch_size)
            row.update(ms_per_img_saver=ms_s, ms_per_img_base=ms_b, c_latency=ms_s / ms_b,
                       delta_ctr_latency=delta_ctr(tr['confidence'], tr['saver_correct'],
                                                   tr['base_correct'], ms_s, ms_b)['delta_ctr'])
        if test:
            row.update(top1_saver_test=100 * float(np.mean(test[i]['saver_correct'])),
                       record_test=saver_test[i])
        if test and ops[i]:
            row.update(test_macs_saved_pct=ops[i]['macs_saved_pct'],
                       exit_ratio_test=ops[i]['exit_ratio'],
                       threshold_test=ops[i]['threshold'], top1_cascade_test=ops[i]['top1'])
            if lat:
                ms = float(cascade_ms_per_img(ops[i]['exit_ratio'], lat['savers'][i],
                                              lat['base'], batch_size))
                row['test_ms_saved_pct'] = 100.0 * (1.0 - ms / row['ms_per_img_base'])
        rows.append(row)
    keys = {'macs': 'delta_ctr', 'latency': 'delta_ctr_latency'}
    for name, key in keys.items():
        if name == 'macs' or lat:
            for rank, row in enumerate(sorted(rows, key=lambda r, k=key: r[k]), 1):
                row[f'rank_{name}'] = rank
    rows.sort(key=lambda r: r[keys[cost.kind]])  # stable: ties keep the input order
    for rank, row in enumerate(rows, 1):
        row['rank'] = rank
    saved = 'test_ms_saved_pct' if cost.kind == 'latency' else 'test_macs_saved_pct'
    valid = [r for r in rows if not math.isnan(r[saved])]
    rho = p_value = None
    if len(valid) >= 3:
        res = spearmanr([r[keys[cost.kind]] for r in valid], [r[saved] for r in valid])
        rho, p_value = float(res[0]), float(res[1])
    choice = {name: next((r['saver'] for r in rows if r[f'rank_{name}'] == 1), None)
              for name in keys}
    order = [r.pop('_index') for r in rows]
    write_csv(rows, out, SELECTION_COLUMNS)  # the table describes this run only
    plot_saver_candidates([(r, plotted[i], ops[i]) for r, i in zip(rows, order)],
                          max_drop, 'test' if test else 'train', png)
    return dict(rows=rows, spearman_rho=rho, spearman_p=p_value, csv=out, png=png,
                cost=cost.kind, choice_macs=choice['macs'], choice_latency=choice['latency'])


def _latencies(cost: CostModel, train: Sequence[dict], saver_train: Sequence[str],
               base_train: str) -> dict:
    """The measured times of the base and of every candidate, by the records' model names."""
    base = cost.stage_latency(train[0]['base_meta'], base_train)
    savers = [cost.stage_latency(p['meta'], path) for p, path in zip(train, saver_train)]
    for stage in [base, *savers]:
        stage.ms_per_img(cost.batch_size)  # a batch size outside the measured ones: say so now
    return dict(base=base, savers=savers)


def _zoo_models() -> List[dict]:
    """Every mmpretrain metafile model with an ImageNet-1k top-1 and FLOPs."""
    import mmpretrain
    import yaml
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')
    models = []
    for path in sorted(glob.glob(osp.join(root, '**', 'metafile.yml'), recursive=True)):
        with open(path) as f:
            doc = yaml.load(f, Loader=loader) or {}
        for m in doc.get('Models') or []:
            flops = (m.get('Metadata') or {}).get('FLOPs')
            top1 = [(r.get('Metrics') or {}).get('Top 1 Accuracy')
                    for r in m.get('Results') or [] if r.get('Dataset') == 'ImageNet-1k']
            top1 = [t for t in top1 if isinstance(t, (int, float))]
            if isinstance(flops, (int, float)) and flops > 0 and top1 and m.get('Config'):
                models.append(dict(name=m['Name'], config=m['Config'],
                                   gflops=flops / 1e9, top1=float(top1[0])))
    if not models:
        raise ValueError(f'no ImageNet-1k model found in the metafiles under {root!r}; '
                         'is mmpretrain installed with its .mim configs?')
    return models


def _find(models: List[dict], key: str, what: str) -> dict:
    """The model named ``key`` or using config ``key``, or a ValueError.

    A config shared by several models (e.g. other pre-training) resolves to
    the model named like the config file, else the first one listed.
    """
    by_name = [m for m in models if m['name'] == key]
    if by_name:
        return by_name[0]
    rel = key.split('::', 1)[-1]
    rel = rel[len('configs/'):] if rel.startswith('configs/') else rel
    hits = [m for m in models if m['config'].split('configs/', 1)[-1] == rel]
    if not hits:
        raise ValueError(f'{what} {key!r} is not an ImageNet-1k model of the mmpretrain '
                         "metafiles; give a model Name or a config like "
                         "'mmpretrain::resnet/resnet50_8xb32_in1k.py'.")
    stem = osp.splitext(osp.basename(rel))[0]
    return next((m for m in hits if m['name'] == stem), hits[0])


def zoo_prefilter(base_cfg: str, candidates: Optional[Sequence[str]] = None,
                  top: int = 10) -> List[dict]:
    """Shortlist savers for an ImageNet base from published accuracy and FLOPs.

    A crude ESTIMATE, NOT the paper's ``delta C_tr`` (which needs per-sample
    records): ``est_exit = (top1_saver / top1_base) * (top1_saver / 100)``,
    i.e. exits can only come from images the saver gets right (its top-1),
    scaled down by how far the saver is from the base; clipped to at most 1.
    ``est_delta_ctr = c - est_exit`` with ``c = flops_saver / flops_base``.
    Use it to pick which models to record, then rank those with
    :func:`select_saver`.

    Args:
        base_cfg (str): The base, as a config (``'mmpretrain::resnet/
            resnet50_8xb32_in1k.py'`` or ``'configs/resnet/...py'``) or a
            metafile model Name.
        candidates (Sequence[str], optional): Configs or Names to compare;
            default every ImageNet-1k model with fewer FLOPs than the base.
        top (int): How many rows to return, best first.

    Returns:
        list[dict]: Rows with ``ZOO_COLUMNS`` keys (``gflops`` in GFLOPs per
        image, ``top1`` in percent), sorted by ``est_delta_ctr`` ascending.

    Raises:
        ValueError: On an unknown base or candidate, or ``top`` < 1.
    """
    if not isinstance(top, int) or top < 1:
        raise ValueError(f'top={top!r} must be a positive integer.')
    models = _zoo_models()
    base = _find(models, base_cfg, 'base')
    if candidates is None:
        pool = [m for m in models if m['gflops'] < base['gflops']]
    else:
        pool = [_find(models, c, 'candidate') for c in candidates]
    rows = []
    for m in pool:
        c = m['gflops'] / base['gflops']
        est_exit = min(1.0, m['top1'] / base['top1'] * (m['top1'] / 100))
        rows.append(dict(m, c=c, est_delta_ctr=c - est_exit))
    rows.sort(key=lambda r: (r['est_delta_ctr'], r['name']))
    return rows[:top]
