"""Flat CSV results (figures: :mod:`tinysaver_mm.visualization`)."""
import csv
import math
import os
import os.path as osp
from typing import List, Sequence, Union

__all__ = ['merge_csv']


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
