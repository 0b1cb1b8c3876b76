"""Fitting a learned exit head from records and comparing exit policies (any task)."""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from tinysaver_mm.utils.report import write_json
from tinysaver_mm.visualization import plot_policy_curves

__all__ = ['check_head_request', 'fit_size', 'roc_auc', 'fit_head', 'calibrate_policies',
           'save_exit_head', 'head_macs', 'gmacs_of', 'write_head_summary']


def check_head_request(records: str, out: str, results: Optional[str], overwrite: bool,
                       calib_fraction: float) -> None:
    """Refuse a head-training request before any work: its outputs, its split.

    Raises:
        OutputExistsError: If ``out``, ``results`` or its PNG exists and
            ``overwrite`` is False.
        ValueError: If an output is the records file, or ``calib_fraction``
            is not in (0, 1).
    """
    from tinysaver_mm.utils import check_outputs
    check_outputs([out, results, results and osp.splitext(results)[0] + '.png'], overwrite,
                  [records])
    if not 0.0 < calib_fraction < 1.0:
        raise ValueError(f'calib_fraction={calib_fraction!r} must be in (0, 1).')


def fit_size(n: int, calib_fraction: float) -> int:
    """Records fitting the head (the rest calibrate), at least 10 of each.

    Raises:
        ValueError: If either part would hold fewer than 10 images.
    """
    n_fit = int(round(n * (1.0 - calib_fraction)))
    if n_fit < 10 or n - n_fit < 10:
        raise ValueError(f'{n} images are too few to fit and calibrate the evaluator '
                         f'(calib_fraction={calib_fraction}); record more images.')
    return n_fit


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (rank form, ties averaged); NaN for one class."""
    from scipy.stats import rankdata
    y = np.asarray(y).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float('nan')
    ranks = rankdata(score)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def fit_head(head: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 400,
             lr: float = 1e-2, weight_decay: float = 1e-3, seed: int = 0) -> list:
    """Standardise the inputs and fit the head's weights with full-batch Adam.

    Args:
        head (BaseExitHead): Fitted in place (its ``standardise_from`` when it
            has one, else per-column statistics).
        x (torch.Tensor): Raw input rows (N, in_channels).
        y (torch.Tensor): Targets in [0, 1], (N,); 0/1 targets are
            class-balanced, soft ones fitted as they are.
        steps (int): Optimisation steps.
        lr (float): Adam learning rate.
        weight_decay (float): Adam weight decay.
        seed (int): Seed of the weights' initialisation.

    Returns:
        list[float]: The loss at each step.
    """
    torch.manual_seed(seed)
    for m in head.modules():
        if m is not head and hasattr(m, 'reset_parameters'):
            m.reset_parameters()
    if hasattr(head, 'standardise_from'):
        head.standardise_from(x)
    else:
        head.input_mean.copy_(x.mean(dim=0))
        head.input_std.copy_(x.std(dim=0).clamp(min=1e-6))
    y = y.float()
    weight = None
    if bool(((y == 0) | (y == 1)).all()):
        # balance the classes so a rare "saver worse" label still shapes the score
        pos = float(y.mean())
        weight = torch.where(y > 0.5, torch.tensor(0.5 / max(pos, 1e-6)),
                             torch.tensor(0.5 / max(1 - pos, 1e-6)))
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    head.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(head(x), y, weight=weight)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    head.eval()
    return losses


def calibrate_policies(policies: Dict[str, np.ndarray],
                       curve: Callable[[np.ndarray, bool], List[dict]], calibrator,
                       base_value: float) -> Dict[str, dict]:
    """Each policy's operating point: the calibrator's row of its cascade curve.

    Args:
        policies (dict): Policy name to exit score per image.
        curve (Callable): ``(score, pays_evaluator) -> rows`` of the task's
            metric curve; the ``evaluator`` policy pays the head's MACs.
        calibrator (MetricDropCalibrator): Picks the row within its drop.
        base_value (float): The base's metric on the same images.

    Returns:
        dict: Policy name to its chosen row, with its whole ``curve``.
    """
    rows = {}
    for name, score in policies.items():
        points = curve(score, name == 'evaluator')
        rows[name] = dict(calibrator.fit(points, base_value).row_, curve=points)
    return rows


def save_exit_head(out: str, head: torch.nn.Module, meta: dict) -> None:
    """Write a head's weights with its meta (``head_cfg``, fingerprint, threshold)."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=head.state_dict(), meta=meta), out)


def head_macs(head: torch.nn.Module) -> int:
    """MACs of one image through the head (one input row)."""
    from tinysaver_mm.utils import measure_macs
    return measure_macs(head, torch.zeros(1, head.in_channels))


def gmacs_of(macs: Dict[str, np.ndarray]) -> Dict[str, float]:
    """GMACs per image of the saver, the base and the evaluator head."""
    return dict(saver=float(macs['saver'].mean()) / 1e9, base=float(macs['base'].mean()) / 1e9,
                evaluator=float(macs['evaluator'][0]) / 1e9)


def write_head_summary(summary: dict, results: Optional[str], rows: Dict[str, dict],
                       saver_value: float, base_value: float, records: str, max_drop: float,
                       **plot_kw) -> None:
    """Write a head-training summary (JSON) and every policy's curve beside it (PNG).

    Args:
        summary (dict): With ``gmacs`` (:func:`gmacs_of`).
        results (str, optional): The JSON path; nothing is written without it.
        rows (dict): Policy name to its calibrated row with its ``curve``.
        saver_value, base_value (float): Each model's metric alone.
        records (str): The records (for the title).
        max_drop (float): The calibrated drop (for the title).
        **plot_kw: ``key``/``ylabel`` of :func:`plot_policy_curves`.
    """
    if not results:
        return
    write_json(summary, results)
    plot_policy_curves({k: v['curve'] for k, v in rows.items()}, saver_value, base_value,
                       summary['gmacs']['saver'], summary['gmacs']['base'],
                       osp.splitext(results)[0] + '.png',
                       f'calibration images of {osp.basename(records)}; dots: max drop '
                       f'{max_drop}', marks=rows, **plot_kw)
