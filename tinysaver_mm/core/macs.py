"""MACs accounting for cascades."""
from typing import Sequence

import numpy as np

__all__ = ['cascade_macs_per_image', 'macs_saved_pct']


def cascade_macs_per_image(stage_macs: Sequence[float],
                           reach_fractions: Sequence[float]) -> float:
    """Expected MACs per image of a cascade, computed analytically.

    Args:
        stage_macs (Sequence[float]): MACs per image of each stage, in order
            (saver first).
        reach_fractions (Sequence[float]): Share of images each stage runs on;
            the first is 1 (the saver always runs).

    Returns:
        float: ``sum(macs_i * reach_i)``, e.g. saver + (1 - exit) * base.

    Raises:
        ValueError: If the lengths differ or a share is outside [0, 1].
    """
    if len(stage_macs) != len(reach_fractions):
        raise ValueError(f'{len(stage_macs)} stage MACs but '
                         f'{len(reach_fractions)} reach fractions.')
    reach = np.asarray(reach_fractions, dtype=np.float64)
    if np.any(reach < 0) or np.any(reach > 1):
        raise ValueError(f'reach fractions must be in [0, 1], got {reach}.')
    return float(np.dot(np.asarray(stage_macs, dtype=np.float64), reach))


def macs_saved_pct(cascade_macs: float, base_macs: float) -> float:
    """Percentage of the base model's MACs that the cascade saves.

    Args:
        cascade_macs (float): Mean MACs per image of the cascade.
        base_macs (float): MACs per image of the base alone.

    Returns:
        float: ``100 * (1 - cascade / base)``; negative if the cascade costs more.
    """
    if base_macs <= 0:
        raise ValueError(f'base MACs must be positive, got {base_macs}.')
    return 100.0 * (1.0 - cascade_macs / base_macs)
