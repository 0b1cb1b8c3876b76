"""Split a batch into the samples that exit and the ones passed on."""
from typing import List, Sequence, Tuple

import torch

__all__ = ['check_threshold', 'exit_mask', 'split_by_mask', 'scatter_rows']


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


def scatter_rows(parts: Sequence[Tuple[torch.Tensor, torch.Tensor]],
                 batch_size: int) -> torch.Tensor:
    """Put row blocks back at their original batch positions.

    Args:
        parts (Sequence[tuple[Tensor, Tensor]]): ``(positions, rows)`` pairs;
            the positions together cover ``range(batch_size)`` exactly once.
        batch_size (int): Size of the original batch.

    Returns:
        torch.Tensor: Rows of shape (batch_size, ...), in batch order.

    Raises:
        ValueError: If the positions do not cover the batch exactly once.
    """
    positions: List[torch.Tensor] = [p for p, _ in parts]
    allpos = torch.cat(positions) if positions else torch.zeros(0, dtype=torch.long)
    if allpos.numel() != batch_size or not torch.equal(
            allpos.sort().values, torch.arange(batch_size, device=allpos.device)):
        raise ValueError('Routed parts do not cover the batch exactly once.')
    rows = [r for _, r in parts]
    out = rows[0].new_empty((batch_size, ) + tuple(rows[0].shape[1:]))
    for pos, r in parts:
        out[pos] = r
    return out
