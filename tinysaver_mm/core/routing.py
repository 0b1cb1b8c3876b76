"""Split a batch into the samples that exit and the ones passed on."""
from typing import Callable, Optional, Sequence, Tuple

import torch

__all__ = ['check_threshold', 'exit_mask', 'split_by_mask', 'route_batch']


def check_threshold(threshold: float, name: str = 'threshold') -> float:
    """Validate an exit threshold.

    Args:
        threshold (float): The value to check.
        name (str): How to call it in the error message.

    Returns:
        float: ``threshold`` as a float.

    Raises:
        ValueError: If it is not a number in [0, 1].
    """
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number in [0, 1], got '
                         f'{threshold!r}.') from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f'{name}={threshold!r} is outside [0, 1]: confidences are in '
            '[0, 1], so use e.g. 0.9 (0 lets every sample exit at the saver, '
            '1 sends all but fully sure samples on).')
    return value


def exit_mask(confidence: torch.Tensor, threshold: float) -> torch.Tensor:
    """Samples whose confidence is at least ``threshold`` exit.

    Args:
        confidence (torch.Tensor): Shape (N,).
        threshold (float): In [0, 1].

    Returns:
        torch.Tensor: Boolean mask of shape (N,).
    """
    return confidence >= check_threshold(threshold)


def split_by_mask(indices: torch.Tensor,
                  mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split positions into the masked ones and the rest.

    Args:
        indices (torch.Tensor): Positions (in the original batch) of the rows
            the mask refers to, shape (N,).
        mask (torch.Tensor): Boolean, shape (N,).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Original positions where ``mask``
        holds, and where it does not.
    """
    return indices[mask], indices[~mask]


def route_batch(run_stage: Callable[[int, Optional[torch.Tensor]], torch.Tensor],
                confidence: Callable[[torch.Tensor], torch.Tensor],
                thresholds: Sequence[float], batch_size: int,
                names: Optional[Sequence[str]] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run a cascade on a batch, each stage on the rows still routed to it.

    Stage ``i`` runs on the rows no earlier stage let exit, as one sub-batch;
    a row whose confidence is at least ``thresholds[i]`` exits there, and the
    last stage answers whatever is left. A stage that no row reaches does not
    run. The full batch is passed as ``None`` (no index, no copy), which is
    what the first stage, and a later one that every row reaches, get.

    Args:
        run_stage (callable): ``(stage, rows) -> outputs``: outputs of stage
            ``stage`` for the batch rows ``rows`` (a LongTensor of positions
            in the original batch, in increasing order, or ``None`` for all),
            shape (len(rows), ...), one row per input row.
        confidence (callable): ``outputs -> (len(rows),)`` confidence.
        thresholds (Sequence[float]): One exit threshold per stage but the
            last (already validated).
        batch_size (int): Rows in the batch.
        names (Sequence[str], optional): Stage names for error messages.

    Returns:
        tuple: Outputs (batch_size, ...) in batch order, each row from the
        stage that answered it; the index of that stage per row (batch_size,);
        and the first stage's confidence per row (batch_size,).

    Raises:
        ValueError: If a stage's outputs do not have the first stage's row
            shape (e.g. a different number of classes).
    """
    names = list(names or [f'stage {i}' for i in range(len(thresholds) + 1)])
    rows = None  # None: every row of the batch, in order
    out = run_stage(0, None)
    answered_by = torch.zeros(batch_size, dtype=torch.long)
    first_conf = confidence(out)
    conf = first_conf
    for i in range(1, len(thresholds) + 1):
        passed = (conf < thresholds[i - 1]).nonzero().squeeze(1).cpu()
        if passed.numel() == 0:
            break
        if rows is not None or passed.numel() < batch_size:
            rows = passed if rows is None else rows[passed]
        outputs = run_stage(i, rows)
        if outputs.shape[1:] != out.shape[1:]:
            raise ValueError(
                f'The {names[i]} gives outputs of shape {tuple(outputs.shape[1:])} '
                f'per image but the {names[0]} {tuple(out.shape[1:])}; use models '
                'with the same label set.')
        if rows is None:
            out, answered_by = outputs, torch.full_like(answered_by, i)
        else:
            out = out.index_copy(0, rows.to(out.device), outputs.to(out.device))
            answered_by.index_fill_(0, rows, i)
        if i < len(thresholds):
            conf = confidence(outputs)
    return out, answered_by, first_conf
