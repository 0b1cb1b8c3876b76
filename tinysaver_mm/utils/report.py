"""Flat CSV results and PNG plots."""
import csv
import math
import os
import os.path as osp
from typing import Dict, List, Sequence, Union

__all__ = ['merge_csv', 'plot_speedup']


def merge_csv(rows: List[dict], path: str, columns: Sequence[str],
              key: Union[str, Sequence[str]] = 'pair') -> List[dict]:
    """Write ``rows`` to ``path``, keeping earlier rows whose ``key`` differs.

    Args:
        rows (list[dict]): New rows.
        path (str): CSV file.
        columns (Sequence[str]): Column order.
        key (str | Sequence[str]): Column(s); earlier rows with the same
            values there as a new row are replaced.

    Returns:
        list[dict]: All rows now in the file.
    """
    keys = (key, ) if isinstance(key, str) else tuple(key)
    ident = lambda r: tuple(str(r[k]) for k in keys)  # noqa: E731
    old = []
    if osp.isfile(path):
        with open(path, newline='') as f:
            new_keys = {ident(r) for r in rows}
            old = [r for r in csv.DictReader(f) if ident(r) not in new_keys]
    all_rows = old + rows
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction='ignore')
        writer.writeheader()
        for r in all_rows:
            writer.writerow({k: (f'{v:.6g}' if isinstance(v, float) and not math.isnan(v)
                                 else ('' if isinstance(v, float) else v))
                             for k, v in r.items()})
    return all_rows


def plot_speedup(rows: List[dict], path: str) -> None:
    """Speedup vs exit ratio: measured (solid) and, where the rows have it,
    saver + base back to back without routing (dotted), per batch size; the
    MACs-predicted curve (dashed black, the same for every batch size) drawn
    over all exit ratios. A batch size with only two exit ratios (batch 1: 0
    and 1) is drawn as points, since no curve joins them.

    Args:
        rows (list[dict]): Rows with pair, batch_size, exit_ratio, speedup,
            macs_speedup and optionally stages_speedup (strings or numbers).
        path (str): PNG file to write.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    pairs: Dict[str, Dict[int, list]] = {}
    for r in rows:
        pairs.setdefault(r['pair'], {}).setdefault(int(r['batch_size']), []).append(r)
    fig, axes = plt.subplots(1, len(pairs), figsize=(6 * len(pairs), 4.5), squeeze=False)
    for ax, (pair, by_bs) in zip(axes[0], sorted(pairs.items())):
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
        ax.set_xlabel('exit ratio (share of images answered by the saver)')
        ax.set_ylabel('speedup vs base alone (x)')
        ax.set_title(pair)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
