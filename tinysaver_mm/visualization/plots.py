"""Every PNG figure of tinysaver_mm (matplotlib, imported when a figure is drawn)."""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from tinysaver_mm.core import cascade_curve

__all__ = ['plot_calibration_curve', 'plot_policy_curves', 'plot_saver_candidates',
           'plot_speedup', 'plot_shift_study', 'plot_top1_vs_gmacs', 'plot_serving']


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> None:
    """Lay out, write ``path`` (creating its folder) and free the figure."""
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def _finish_axes(ax, xlabel: str, ylabel: str, title: Optional[str] = None,
                 legend_loc: str = 'lower right') -> None:
    """Axis labels, optional title, light grid and a small legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)


def plot_calibration_curve(curve: dict, result: dict, path: str) -> None:
    """Top-1 vs cascade GMACs, exit ratio on the top axis, chosen point marked.

    Args:
        curve (dict): :func:`tinysaver_mm.core.cascade_curve` plus
            ``gmacs_cascade`` (GMACs per image at each threshold).
        result (dict): The calibration result: ``gmacs_saver``,
            ``gmacs_base``, ``base_top1``, ``saver_top1``, ``gmacs_cascade``,
            ``top1``, ``target``, ``threshold`` and ``records`` (split name).
        path (str): PNG to write.
    """
    plt = _pyplot()
    gs, gb = result['gmacs_saver'], result['gmacs_base']
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve['gmacs_cascade'], 100 * curve['accuracy'], '-', label='cascade')
    ax.plot([gb], [result['base_top1']], 's', color='k', label='base alone')
    ax.plot([gs], [result['saver_top1']], '^', color='gray', label='saver alone')
    ax.plot([result['gmacs_cascade']], [result['top1']], 'o', color='C3', ms=9,
            label=f'chosen ({result["target"]}): thr {result["threshold"]:.4g}')
    top = ax.secondary_xaxis('top', functions=(lambda g: 1 - (g - gs) / gb,
                                               lambda e: gs + (1 - e) * gb))
    top.set_xlabel('exit ratio')
    _finish_axes(ax, 'GMACs per image', f'top-1 % on {result["records"]} records')
    _save(fig, path)


def plot_policy_curves(curves: Dict[str, List[dict]], saver_map: float, base_map: float,
                       gmacs_saver: float, gmacs_base: float, path: str, title: str,
                       marks: Optional[Dict[str, dict]] = None, key: str = 'map',
                       ylabel: str = 'box mAP (AP@[.5:.95], %)') -> None:
    """A dataset-level metric vs GMACs per image of each exit policy's cascade.

    Args:
        curves (dict): Policy name to rows of a metric curve (e.g.
            :func:`tinysaver_mm.evaluation.functional.cascade_map_curve`).
        saver_map, base_map (float): The metric of each model alone.
        gmacs_saver, gmacs_base (float): Their GMACs per image.
        path (str): PNG to write.
        title (str): Figure title (name the data).
        marks (dict, optional): Policy name to an operating point row to mark.
        key (str): The rows' metric (a fraction, plotted in %): ``'map'``
            for detection, ``'miou'`` for segmentation.
        ylabel (str): The y axis label.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, (name, rows) in enumerate(curves.items()):
        ax.plot([r['gmacs_cascade'] for r in rows], [100 * r[key] for r in rows], '-',
                color=f'C{i}', label=name, lw=1.2)
        if marks and name in marks:
            m = marks[name]
            ax.plot([m['gmacs_cascade']], [100 * m[key]], 'o', color=f'C{i}', ms=7)
    ax.plot([gmacs_base], [100 * base_map], 's', color='k', label='base alone')
    ax.plot([gmacs_saver], [100 * saver_map], '^', color='gray', label='saver alone')
    _finish_axes(ax, 'GMACs per image', ylabel, title)
    _save(fig, path)


def plot_saver_candidates(items: list, max_drop: float, split: str, path: str) -> None:
    """Top-1 vs cascade GMACs of every candidate saver, operating points marked.

    Args:
        items (list): ``(row, pair, operating point or None)`` per candidate:
            its selection row (``saver``, ``delta_ctr``), its records
            (``confidence``, ``saver_correct``, ``base_correct``,
            ``gmacs_saver``, ``gmacs_base``) and its point (``gmacs``, ``top1``).
        max_drop (float): The drop the operating points allow (for the title).
        split (str): Which records are plotted (for the axis label).
        path (str): PNG to write.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, (row, pair, op) in enumerate(items):
        curve = cascade_curve(pair['confidence'], pair['saver_correct'],
                              pair['base_correct'])
        gmacs = pair['gmacs_saver'] + (1.0 - curve['exit_ratio']) * pair['gmacs_base']
        color = f'C{i % 10}'
        ax.plot(gmacs, 100 * curve['accuracy'], '-', color=color,
                label=f'{row["saver"]} (ΔC_tr {row["delta_ctr"]:+.3f})')
        if op:
            ax.plot([op['gmacs']], [op['top1']], 'o', color=color, ms=8, mec='k')
    base = items[0][1]
    base_top1 = 100 * float(np.mean(base['base_correct']))
    ax.axhline(base_top1, color='k', lw=0.8, ls='--')
    ax.plot([base['gmacs_base']], [base_top1], 's', color='k',
            label=f'base alone ({base_top1:.2f}%)')
    _finish_axes(ax, 'cascade GMACs per image', f'top-1 % on {split} records',
                 f'candidate savers; dots: largest exit ratio with top-1 drop '
                 f'<= {100 * max_drop:.3g} pt')
    _save(fig, path)


def plot_speedup(rows: List[dict], path: str) -> None:
    """Speedup vs exit ratio: measured (solid) and, where the rows have it,
    saver + base back to back without routing (dotted), per batch size; the
    MACs-predicted curve (dashed black, the same for every batch size) drawn
    over all exit ratios. A batch size with only two exit ratios (batch 1: 0
    and 1) is drawn as points, since no curve joins them.

    One panel per pair (columns) and backend (rows).

    Args:
        rows (list[dict]): Rows with pair, batch_size, exit_ratio, speedup,
            macs_speedup and optionally backend and stages_speedup (strings or
            numbers).
        path (str): PNG file to write.
    """
    plt = _pyplot()
    pairs: Dict[tuple, Dict[int, list]] = {}
    for r in rows:
        key = (r.get('backend') or 'pytorch', r['pair'])
        pairs.setdefault(key, {}).setdefault(int(r['batch_size']), []).append(r)
    names = sorted({p for _, p in pairs})
    backends = sorted({b for b, _ in pairs}, key=lambda b: (b != 'pytorch', b))
    fig, axes = plt.subplots(len(backends), len(names), figsize=(6 * len(names),
                             4.5 * len(backends)), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for (backend, pair), by_bs in sorted(pairs.items()):
        ax = axes[backends.index(backend)][names.index(pair)]
        ax.set_visible(True)
        for i, (bs, rs) in enumerate(sorted(by_bs.items())):
            rs = sorted(rs, key=lambda r: float(r['exit_ratio']))
            x = [float(r['exit_ratio']) for r in rs]
            style = 'o-' if len(rs) > 2 else 'o'
            ax.plot(x, [float(r['speedup']) for r in rs], style, color=f'C{i}',
                    label=f'measured, batch {bs}')
            if all(r.get('stages_speedup') not in (None, '') for r in rs):
                ax.plot(x, [float(r['stages_speedup']) for r in rs], style.replace('o', 'x')
                        .replace('-', ':'), color=f'C{i}', alpha=0.8,
                        label=f'stages back to back, batch {bs}')
        # MACs-predicted speedup 1 / (c + 1 - r), c = saver MACs / base MACs
        r0 = next(iter(by_bs.values()))[0]
        c = 1.0 / float(r0['macs_speedup']) - (1.0 - float(r0['exit_ratio']))
        grid = [i / 100 for i in range(101)]
        ax.plot(grid, [1.0 / (c + 1.0 - g) for g in grid], 'k--', alpha=0.7,
                label=f'MACs-predicted (saver/base MACs {c:.3f})')
        ax.axhline(1.0, color='gray', lw=0.8)
        ax.set_yscale('log')
        ax.set_title(f'{pair} [{backend}]')
        ax.set_xlabel('exit ratio (share of images answered by the saver)')
        ax.set_ylabel('speedup vs base alone (x)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def plot_shift_study(rows: List[dict], path: str) -> None:
    """Top-1 of saver/base/cascade and exit ratio per corruption (drift study)."""
    plt = _pyplot()
    names = [r['corruption'] for r in rows]
    x = np.arange(len(rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, key in enumerate(('saver_top1_pct', 'base_top1_pct', 'cascade_top1_pct')):
        a1.bar(x + (i - 1) * 0.27, [r[key] for r in rows], 0.27, label=key.split('_')[0])
    a1.set_xticks(x, names, rotation=40, fontsize=8)
    _finish_axes(a1, 'test set', 'top-1 %', 'accuracy per corruption', 'lower left')
    a2.bar(x, [r['exit_ratio'] for r in rows], 0.6, label='exit ratio')
    for xi, r in zip(x, rows):
        d = r['images_until_drift_warning']
        a2.text(xi, r['exit_ratio'] + 0.01, '-' if d is None else str(d), ha='center', fontsize=7)
    a2.set_xticks(x, names, rotation=40, fontsize=8)
    _finish_axes(a2, 'test set (label: images until the drift warning)', 'exit ratio',
                 'exit ratio and detection delay', 'lower left')
    _save(fig, path)


def plot_top1_vs_gmacs(curves: Dict[str, tuple], points: Dict[str, tuple], path: str,
                       title: str, split: str) -> None:
    """Top-1 vs GMACs per image: curves (methods swept) and marked operating points.

    Args:
        curves (dict): Name to ``(gmacs, top1_pct)`` sequences, drawn as lines.
        points (dict): Name to ``(gmacs, top1_pct)`` of one operating point.
        path (str): PNG to write.
        title (str): Figure title (name the data).
        split (str): The split the figures are on, for the y label.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for i, (name, (g, t)) in enumerate(curves.items()):
        order = np.argsort(np.asarray(g, dtype=float))
        ax.plot(np.asarray(g, dtype=float)[order], np.asarray(t, dtype=float)[order], '-',
                color=f'C{i}', label=name, lw=1.2)
    first = [n.split()[0] for n in curves]
    for i, (name, (g, t)) in enumerate(points.items()):
        # a point of a method drawn as a curve takes the curve's colour
        own = first.index(name.split()[0]) if name.split()[0] in first else None
        color = f'C{own}' if own is not None else 'k' if 'base' in name else f'C{len(curves) + i}'
        ax.plot([g], [t], 'os^vDPX*'[i % 8], color=color, ms=7, label=name,
                markeredgecolor='k')
    _finish_axes(ax, 'GMACs per image', f'top-1 % on the {split} split', title)
    _save(fig, path)


def plot_serving(rows: List[dict], path: str) -> None:
    """Served throughput vs concurrent clients and p50/p99 latency, per transport."""
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for transport in sorted({r['transport'] for r in rows}):
        rs = sorted((r for r in rows if r['transport'] == transport), key=lambda r: r['clients'])
        c = [r['clients'] for r in rs]
        a1.plot(c, [r['img_per_s'] for r in rs], 'o-', label=f'{transport}: served')
        a1.plot(c, [r['ideal_img_per_s'] for r in rs], '--', label=f'{transport}: ideal')
        a2.plot(c, [r['p50_ms'] for r in rs], 'o-', label=f'{transport}: p50')
        a2.plot(c, [r['p99_ms'] for r in rs], 's:', label=f'{transport}: p99')
    for ax in (a1, a2):
        ax.set_xscale('log', base=2)
    _finish_axes(a1, 'concurrent clients', 'images / s', 'closed loop, 1 image per request',
                 'lower right')
    _finish_axes(a2, 'concurrent clients', 'latency (ms)', None, 'upper left')
    _save(fig, path)
