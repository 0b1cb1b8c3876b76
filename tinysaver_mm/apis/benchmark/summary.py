"""A forced-ratio benchmark CSV as a table, and which speed goals its rows meet."""
from typing import List, Optional, Sequence

from tinysaver_mm.utils.report import read_csv
from .forced_ratio import CSV_COLUMNS

__all__ = ['TABLE_COLUMNS', 'read_rows', 'markdown_table', 'goal_report']


TABLE_COLUMNS = [('pair', 'pair', '{}'), ('backend', 'backend', '{}'), ('batch', 'batch_size', '{}'),
                 ('exit ratio', 'exit_ratio', '{:g}'), ('ms/img base', 'ms_per_img_base', '{:.4f}'),
                 ('ms/img cascade', 'ms_per_img_cascade', '{:.4f}'),
                 ('speedup', 'speedup', '{:.2f}'), ('MACs-predicted', 'macs_speedup', '{:.2f}'),
                 ('efficiency', 'efficiency', '{:.2f}'),
                 ('stages back to back', 'stages_speedup', '{:.2f}'),
                 ('routing overhead %', 'routing_overhead_pct', '{:.1f}'),
                 ('vs eager base', 'speedup_vs_eager_base', '{:.2f}')]


def read_rows(path: str) -> List[dict]:
    """Rows of a benchmark CSV, numbers as numbers.

    Raises:
        FileNotFoundError: If there is no such CSV.
        ValueError: If it is a CSV of other columns.
    """
    rows = read_csv(path, CSV_COLUMNS)
    for r in rows:
        for k, v in r.items():
            if k not in ('pair', 'backend'):
                r[k] = float('nan') if v == '' else int(v) if k in (
                    'batch_size', 'base_rows') else float(v)
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The main columns of benchmark rows as a Markdown table."""
    lines = ['| ' + ' | '.join(h for h, _, _ in TABLE_COLUMNS) + ' |',
             '|' + '---|' * len(TABLE_COLUMNS)]
    lines += ['| ' + ' | '.join(fmt.format(r[k]) for _, k, fmt in TABLE_COLUMNS) + ' |'
              for r in rows]
    return '\n'.join(lines)


def _goal_line(name: str, goal: str, checked: List[dict], miss: List[str]) -> Optional[str]:
    if not checked:
        return None
    return f'{name}: {goal}: ' + (f'MISSED at {"; ".join(miss)}' if miss
                                  else f'met ({len(checked)} rows)')


def goal_report(rows: List[dict], min_efficiency: float = 0.85, min_batch: int = 32,
                exit_range: Sequence[float] = (0.5, 0.9), max_overhead_pct: float = 3.0,
                min_exit_vs_eager: float = 0.25) -> List[str]:
    """Lines saying which rows meet the speed goals and which miss them, per pair and backend.

    Goals: efficiency (measured over MACs-predicted speedup) >=
    ``min_efficiency`` at batch >= ``min_batch`` for exit ratios in
    ``exit_range``; routing overhead (cascade vs saver + base back to back)
    <= ``max_overhead_pct`` at batch >= ``min_batch``; and, for a deployed
    backend, the cascade faster than the base alone in PyTorch eager at every
    exit ratio >= ``min_exit_vs_eager``. A row that misses the efficiency goal
    also shows the efficiency of saver + base back to back
    (``stages_speedup / macs_speedup``): what free routing would reach with
    these two models, so a miss of the models' own times (a layer's time not
    proportional to its MACs, a smaller batch costing more per image) is told
    apart from one of the routing.

    Args:
        rows (list[dict]): Rows from :func:`benchmark_cascade`.
        min_efficiency (float): Efficiency goal.
        min_batch (int): Smallest batch size the efficiency and overhead goals are for.
        exit_range (Sequence[float]): Exit ratios the efficiency goal is for.
        max_overhead_pct (float): Overhead goal, in percent.
        min_exit_vs_eager (float): Smallest exit ratio of the goal against eager.

    Returns:
        list[str]: One line per pair, backend and goal, with the rows that miss it.
    """
    lines = []
    lo, hi = exit_range
    for pair, backend in dict.fromkeys((r['pair'], r.get('backend') or 'pytorch') for r in rows):
        name = f'{pair} [{backend}]'
        mine = [r for r in rows if r['pair'] == pair and (r.get('backend') or 'pytorch') == backend]
        big = [r for r in mine if r['batch_size'] >= min_batch]
        eff = [r for r in big if lo - 1e-9 <= r['exit_ratio'] <= hi + 1e-9]
        lines.append(_goal_line(
            name, f'efficiency >= {min_efficiency} at batch >= {min_batch}, exit {lo:g}-{hi:g}',
            eff, [f'batch {r["batch_size"]} exit {r["exit_ratio"]:g}: {r["efficiency"]:.3f}'
                  f' (free routing: {r["stages_speedup"] / r["macs_speedup"]:.3f})'
                  for r in eff if r['efficiency'] < min_efficiency]))
        lines.append(_goal_line(
            name, f'routing overhead <= {max_overhead_pct}% at batch >= {min_batch}', big,
            [f'batch {r["batch_size"]} exit {r["exit_ratio"]:g}: {r["routing_overhead_pct"]:.1f}%'
             for r in big if r['routing_overhead_pct'] > max_overhead_pct]))
        if backend != 'pytorch':
            vs = [r for r in mine if r['exit_ratio'] >= min_exit_vs_eager - 1e-9]
            lines.append(_goal_line(
                name, f'faster than the eager base alone at exit >= {min_exit_vs_eager:g}', vs,
                [f'batch {r["batch_size"]} exit {r["exit_ratio"]:g}: '
                 f'{r["speedup_vs_eager_base"]:.2f}x' for r in vs
                 if not r['speedup_vs_eager_base'] > 1.0]))
    return [line for line in lines if line]
