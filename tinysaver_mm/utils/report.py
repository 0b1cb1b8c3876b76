"""Flat CSV and JSON results (figures: :mod:`tinysaver_mm.visualization`)."""
import csv
import json
import math
import os
import os.path as osp
from typing import List, Sequence, Union

__all__ = ['read_csv', 'write_csv', 'merge_csv', 'write_json']


def read_csv(path: str, columns: Sequence[str]) -> List[dict]:
    """Rows of a CSV this project wrote, refusing a file of other columns.

    Args:
        path (str): CSV file.
        columns (Sequence[str]): The columns the file must have.

    Returns:
        list[dict]: Its rows, values as strings.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If its header lacks one of ``columns`` or has others.
    """
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        if missing or extra:
            raise ValueError(
                f'{path!r} is not a CSV of this table: it lacks the columns {missing[:5]}'
                f'{" ..." if len(missing) > 5 else ""} and has {extra[:5]}'
                f'{" ..." if len(extra) > 5 else ""} that the table does not. Give a new '
                'file, or one this tool wrote.')
        return list(reader)


def write_csv(rows: List[dict], path: str, columns: Sequence[str]) -> None:
    """Write ``rows`` as a CSV of ``columns`` (floats to 6 digits, NaN empty).

    Args:
        rows (list[dict]): Rows; keys outside ``columns`` are left out.
        path (str): CSV file (its folder is created).
        columns (Sequence[str]): Column order.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction='ignore')
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f'{v:.6g}' if isinstance(v, float) and not math.isnan(v)
                                 else ('' if isinstance(v, float) else v))
                             for k, v in r.items()})


def merge_csv(rows: List[dict], path: str, columns: Sequence[str],
              key: Union[str, Sequence[str]] = 'pair') -> List[dict]:
    """Write ``rows`` to ``path``, keeping earlier rows whose ``key`` differs.

    Args:
        rows (list[dict]): New rows.
        path (str): CSV file; an existing one must have exactly ``columns``.
        columns (Sequence[str]): Column order.
        key (str | Sequence[str]): Column(s); earlier rows with the same
            values there as a new row are replaced.

    Returns:
        list[dict]: All rows now in the file.

    Raises:
        ValueError: If an existing ``path`` is a CSV of other columns (it is
            left as it was).
    """
    keys = (key, ) if isinstance(key, str) else tuple(key)
    ident = lambda r: tuple(str(r[k]) for k in keys)  # noqa: E731
    old = []
    if osp.isfile(path):
        new_keys = {ident(r) for r in rows}
        old = [r for r in read_csv(path, columns) if ident(r) not in new_keys]
    all_rows = old + rows
    write_csv(all_rows, path, columns)
    return all_rows


def write_json(result: dict, path: str, indent: int = 1) -> None:
    """Write a result as indented JSON (its folder created)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=indent)
