"""Training targets of a detection evaluator head, and fitting a head on one.

``'binary'`` (the original): 1 where the saver's per-image AP is at least the
base's minus a tolerance. ``'oric'``: the image's ORIC
(:func:`tinysaver_mm.core.oric_scores`, its marginal contribution to dataset
mAP when the base answers it) turned into a soft exit target in [0, 1], the
share of the fitting images whose ORIC is larger (1: the image the base helps
least). Both are fitted with a (soft-label) binary cross-entropy; the scale of
the scores differs, so a head keeps its target (see
:mod:`tinysaver_mm.models.detectors.exit_target`).
"""
from typing import Dict, Optional

import numpy as np
import torch

from tinysaver_mm.core import (ORIC_CONTEXT_SIZE, ORIC_NUM_DRAWS, exit_target,
                               oric_scores, quality_gap)
from .training import fit_head

__all__ = ['oric_of', 'exit_targets', 'fit_det_head', 'TARGET_DOCS']

TARGET_DOCS: Dict[str, str] = {
    'binary': ("exit target = 1 where the saver's per-image COCO AP (IoU .50:.95, the image "
               "evaluated alone) is at least the base's minus the tolerance"),
    'oric': ('exit target = share of the fitting images whose ORIC is larger (soft label); '
             'ORIC_i = (|E|+1) * [mAP(E by saver + i by base) - mAP(E by saver + i by saver)], '
             'E a random context of other images of the same records'),
}


def oric_of(saver, base, context: int = ORIC_CONTEXT_SIZE, draws: int = ORIC_NUM_DRAWS,
            seed: int = 0) -> np.ndarray:
    """ORIC per image of two models' :class:`CocoEntries` on the same images.

    Raises:
        ValueError: If the entries cover different images, or see
            :func:`tinysaver_mm.core.oric_scores`.
    """
    if list(saver.img_ids) != list(base.img_ids):
        raise ValueError('The saver\'s and base\'s COCO entries cover different images.')
    return oric_scores(saver.complete_by_image(), base.complete_by_image(), saver.img_ids,
                       context, draws, seed)


def exit_targets(target: str, saver, base, tolerance: float = 0.1,
                 oric: Optional[np.ndarray] = None, context: int = ORIC_CONTEXT_SIZE,
                 draws: int = ORIC_NUM_DRAWS) -> np.ndarray:
    """The exit target of each image of two models' :class:`CocoEntries`.

    Args:
        target (str): ``'binary'`` or ``'oric'``.
        saver, base (CocoEntries): Both models on the same images.
        tolerance (float): Per-image AP tolerance of ``'binary'``.
        oric (np.ndarray, optional): Precomputed ORIC of these images.
        context, draws (int): ORIC context size and draws (when computed here).

    Returns:
        np.ndarray: float32 targets in [0, 1].

    Raises:
        ValueError: On an unknown target.
    """
    if target == 'binary':
        return exit_target(quality_gap(saver.image_ap(), base.image_ap()), tolerance)
    if target == 'oric':
        if oric is None:
            oric = oric_of(saver, base, context, draws)
        oric = np.asarray(oric, dtype=np.float64)
        larger = (oric[None, :] > oric[:, None]).sum(axis=1)
        ties = (oric[None, :] == oric[:, None]).sum(axis=1) - 1
        return ((larger + 0.5 * ties) / max(len(oric) - 1, 1)).astype(np.float32)
    raise ValueError(f'target={target!r} is not an evaluator target; choose '
                     f'{sorted(TARGET_DOCS)}.')


def fit_det_head(head: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 300,
                 lr: float = 1e-2, weight_decay: float = 0.1, seed: int = 0) -> list:
    """:func:`~tinysaver_mm.apis.exit_heads.fit_head`, then mark the
    head as trained on its ``target`` (binary targets are class-balanced,
    ORIC quantiles fitted as they are).

    Returns:
        list[float]: The loss at each step.
    """
    losses = fit_head(head, x, y, steps=steps, lr=lr, weight_decay=weight_decay, seed=seed)
    if hasattr(head, 'set_trained_target'):
        head.set_trained_target()
    return losses
