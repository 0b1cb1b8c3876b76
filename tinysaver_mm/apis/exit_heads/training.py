"""Fitting a learned exit head from records and comparing exit policies (any task).

:func:`train_exit_head` is the one training skeleton: check the request, read
the records, fit the head on the first part of them, bind it to its saver,
calibrate every policy on the rest, save the head and the summary. An
:class:`ExitHeadTask` (one small file per task) supplies what differs: the
records, the head and its input rows, the exit target and the calibration
(the task's metric curve).
"""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from tinysaver_mm.utils.report import write_json
from tinysaver_mm.visualization import plot_policy_curves

__all__ = ['ExitHeadTask', 'train_exit_head', 'check_head_request', 'fit_size', 'roc_auc',
           'fit_head', 'calibrate_policies', 'save_exit_head', 'head_macs', 'gmacs_of',
           'write_head_summary']


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


class ExitHeadTask:
    """What one task supplies to :func:`train_exit_head`.

    A task object serves one training run: :meth:`load` reads its records,
    the other methods work on them, in the order the skeleton calls them.

    Attributes:
        records (str): The records the head is fitted and calibrated on.
        target_doc (str): What the exit target says (kept in the checkpoint
            and the summary).
        fingerprint (str): The saver's fingerprint (hex), set by :meth:`load`.
        saver_settings (dict, optional): The saver's exit-input settings the
            records were made with (``test_cfg``, preprocessing), set by
            :meth:`load`; the head is bound to them.
        test_pipeline (list, optional): The records' test-pipeline sizing
            steps, set by :meth:`load`; the head is bound to them too.
        checkpoint_meta (dict): Extra entries of the checkpoint's ``meta``.
    """
    target_doc: str = ''

    def __init__(self, records: str) -> None:
        self.records = records
        self.fingerprint: Optional[str] = None
        self.saver_settings: Optional[dict] = None
        self.test_pipeline: Optional[list] = None
        self.checkpoint_meta: dict = {}

    def load(self) -> int:
        """Read the records (and set :attr:`fingerprint`); the number of images."""
        raise NotImplementedError

    def make_head(self) -> torch.nn.Module:
        """The untrained head."""
        raise NotImplementedError

    def inputs(self, head: torch.nn.Module) -> torch.Tensor:
        """The head's raw input row of every image (N, in_channels)."""
        raise NotImplementedError

    def target(self, rows: slice) -> torch.Tensor:
        """The exit target in [0, 1] of the images ``rows`` (the fitted ones)."""
        raise NotImplementedError

    def fit_rows(self, head: torch.nn.Module, x: torch.Tensor,
                 rows: slice) -> Tuple[torch.Tensor, torch.Tensor]:
        """The rows the head is fitted on and their target: by default the
        records' ``rows`` (a task may add records that only fit, never calibrate)."""
        return x[rows], self.target(rows)

    def calibrate(self, head: torch.nn.Module, x: torch.Tensor, rows: slice) -> Dict[str, dict]:
        """Every policy's calibrated row (with its ``threshold``) on the images ``rows``."""
        raise NotImplementedError

    def head_cfg(self, head: torch.nn.Module) -> dict:
        """The config that rebuilds the head (``type`` and arguments)."""
        raise NotImplementedError

    def summary(self, fitted: dict, policies: Dict[str, dict], head_cfg: dict,
                out: str) -> dict:
        """The run's summary.

        Args:
            fitted (dict): ``num_fit``, ``num_calib``, ``target`` (the fitted
                target, a tensor) and ``losses``.
            policies (dict): :meth:`calibrate`'s rows.
            head_cfg (dict): :meth:`head_cfg`.
            out (str): The checkpoint written.
        """
        raise NotImplementedError

    def write(self, summary: dict, results: Optional[str], policies: Dict[str, dict]) -> None:
        """Write the summary to ``results`` (JSON, and what else the task plots)."""
        if results:
            write_json(summary, results)


def train_exit_head(task: ExitHeadTask, out: str, calib_fraction: float = 0.5,
                    steps: int = 300, weight_decay: float = 0.1, seed: int = 0,
                    results: Optional[str] = None, overwrite: bool = False) -> dict:
    """Fit a task's exit head on its records, calibrate every policy, save both.

    The records are split in order: the first ``1 - calib_fraction`` fit the
    head on the task's exit target (:func:`fit_head`), the rest calibrate
    every policy the task compares (the head among them, as ``evaluator``).
    The checkpoint holds the head's weights and ``meta`` (its config, the
    saver's fingerprint it is bound to, the evaluator's calibrated threshold,
    the records and the target).

    Args:
        task (ExitHeadTask): The task's records, head, target and calibration.
        out (str): The head's checkpoint.
        calib_fraction (float): Share of the records kept for calibration.
        steps (int): Training steps.
        weight_decay (float): Adam weight decay.
        seed (int): Seed of the head's initialisation.
        results (str, optional): Also write the summary here.
        overwrite (bool): Replace ``out``/``results`` when they exist.

    Returns:
        dict: The task's summary.

    Raises:
        ValueError: On a bad ``calib_fraction``, too few records, or an output
            that is the records file.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    check_head_request(task.records, out, results, overwrite, calib_fraction)
    n = task.load()
    n_fit = fit_size(n, calib_fraction)
    fit, cal = slice(0, n_fit), slice(n_fit, n)
    head = task.make_head()
    x = task.inputs(head)
    x_fit, y = task.fit_rows(head, x, fit)
    losses = fit_head(head, x_fit, y, steps=steps, weight_decay=weight_decay, seed=seed)
    if hasattr(head, 'set_trained_target'):  # a head that keeps its target in its weights
        head.set_trained_target()
    head.set_trained_for(bytes.fromhex(task.fingerprint))
    policies = task.calibrate(head, x, cal)
    head_cfg = task.head_cfg(head)
    summary = task.summary(dict(num_fit=n_fit, num_calib=n - n_fit, target=y, losses=losses),
                           policies, head_cfg, out)
    save_exit_head(out, head, dict(head_cfg=head_cfg, saver_fingerprint=task.fingerprint,
                                   saver_settings=task.saver_settings,
                                   test_pipeline=task.test_pipeline,
                                   threshold=policies['evaluator']['threshold'],
                                   records=task.records, target=task.target_doc,
                                   **task.checkpoint_meta))
    task.write(summary, results, policies)
    return summary
