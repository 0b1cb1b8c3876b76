"""What a routed cascade spends at one threshold, from per-image MACs (any task)."""
from typing import Callable, Dict, List, Sequence

import numpy as np

__all__ = ['DEFAULT_EXIT_GRID', 'routed_costs', 'threshold_at', 'metric_curve']

DEFAULT_EXIT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 101), 3))


def routed_costs(score: np.ndarray, threshold: float, macs: Dict[str, np.ndarray],
                 with_evaluator: bool = False) -> tuple:
    """Which images exit at ``threshold`` and what the cascade spends.

    Args:
        score (np.ndarray): Exit score per image (NaN never exits).
        threshold (float): Images with ``score >= threshold`` exit.
        macs (dict): Per-image MACs ``saver``, ``base`` (and ``evaluator``).
        with_evaluator (bool): Whether the policy pays the evaluator.

    Returns:
        tuple: ``(exits, row)``: the boolean exit mask and a dict
        ``threshold, exit_ratio, gmacs_cascade, macs_saved_pct``.
    """
    exits = np.asarray(score, dtype=np.float64) >= threshold
    spent = macs['saver'] + (macs['evaluator'] if with_evaluator else 0) + \
        np.where(exits, 0, macs['base'])
    base_total = float(np.sum(macs['base']))
    return exits, dict(threshold=float(threshold), exit_ratio=float(exits.mean()),
                       gmacs_cascade=float(np.mean(spent)) / 1e9,
                       macs_saved_pct=100.0 * (1.0 - float(np.sum(spent)) / base_total))


def threshold_at(score: np.ndarray, exit_ratio: float) -> float:
    """The threshold letting at least ``round(exit_ratio * N)`` images exit.

    Tied scores exit together, so the realised ratio may be larger; ratio 0
    gives ``inf`` (nothing exits).
    """
    ordered = np.sort(np.asarray(score, dtype=np.float64))[::-1]
    k = int(round(exit_ratio * len(ordered)))
    return float('inf') if k == 0 else float(ordered[k - 1])


def metric_curve(metric: Callable[[np.ndarray], float], key: str, score: np.ndarray,
                 macs: Dict[str, np.ndarray], with_evaluator: bool = False,
                 exit_grid: Sequence[float] = DEFAULT_EXIT_GRID) -> List[dict]:
    """A dataset-level metric and the costs at the threshold of each exit share.

    Args:
        metric (Callable): Exit mask -> the routed cascade's metric.
        key (str): Name of the metric in the rows (``'map'``, ``'miou'``).
        score, macs, with_evaluator: As :func:`routed_costs`.
        exit_grid (Sequence[float]): Exit shares (ties in the scores may make
            the realised share larger; see :func:`threshold_at`).

    Returns:
        list[dict]: One row per share: ``threshold, exit_ratio, <key>,
        gmacs_cascade, macs_saved_pct``.
    """
    rows = []
    for ratio in exit_grid:
        exits, row = routed_costs(score, threshold_at(score, float(ratio)), macs,
                                  with_evaluator)
        row[key] = metric(exits)
        rows.append(row)
    return rows
