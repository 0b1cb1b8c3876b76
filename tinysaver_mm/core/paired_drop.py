"""Top-1 drop of a cascade vs a reference model, with a paired 95 % interval.

Both models answer the same ``n`` images. Per image the paired difference is
``d_i = ref_correct_i - new_correct_i`` in {-1, 0, 1}; the drop is its mean
``(lost - gained) / n``, where ``lost`` counts the images the reference gets
right and the cascade wrong, ``gained`` the reverse. Only these discordant
images carry information about the drop, which is why a pairing is needed:
two top-1 figures on 347 images each differ by noise of several points, the
same images answered by both models much less.

The interval is the paired bootstrap percentile interval: resample the ``n``
images with replacement ``num_boot`` times and take the ``(1 - level) / 2`` and
``(1 + level) / 2`` quantiles of the resampled drops. A resample's drop only
depends on how many of its images are lost, gained or unchanged, so the
resampling is drawn as ``Multinomial(n, (lost, gained, rest) / n)``: the same
distribution as resampling the images one by one, in O(num_boot) time.
When no image changed its answer the interval is ``[0, 0]``: the data hold no
evidence of a drop either way, and the ``lost``/``gained`` counts say so.
"""
from typing import Sequence

import numpy as np

__all__ = ['paired_drop_interval']


def _flags(values, name: str) -> np.ndarray:
    """A 1-D boolean array from 0/1 or bool values; anything else is refused."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f'{name} must be one flag per image (1-D), got shape {arr.shape}.')
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))][:3].tolist()
        raise ValueError(f'{name} must hold right (1/True) or wrong (0/False) per image, '
                         f'got {bad}.')
    return arr.astype(bool)


def paired_drop_interval(reference_correct: Sequence, new_correct: Sequence,
                         level: float = 0.95, num_boot: int = 10000,
                         seed: int = 0) -> dict:
    """Top-1 drop of ``new`` vs ``reference`` on the same images, with its interval.

    Args:
        reference_correct (Sequence): Per image, whether the reference (the
            base alone) is right.
        new_correct (Sequence): Per image, whether the cascade is right; the
            same images in the same order.
        level (float): Coverage of the interval, in (0, 1).
        num_boot (int): Bootstrap resamples, >= 100.
        seed (int): Seed of the resampling (the interval is reproducible).

    Returns:
        dict: ``n``, ``lost`` (reference right, new wrong), ``gained`` (the
        reverse), ``reference_top1`` and ``new_top1`` (fractions), ``drop``
        (``reference_top1 - new_top1``), ``low`` and ``high`` (the interval
        on the drop), ``level``, ``num_boot``, ``seed`` and ``method``.

    Raises:
        ValueError: On empty or mismatched inputs, flags other than 0/1, a
            level outside (0, 1) or fewer than 100 resamples.
    """
    ref = _flags(reference_correct, 'reference_correct')
    new = _flags(new_correct, 'new_correct')
    if ref.size != new.size:
        raise ValueError(f'reference_correct has {ref.size} images, new_correct {new.size}: '
                         'they must be the same images, in the same order.')
    if ref.size == 0:
        raise ValueError('No images: a drop needs at least one image answered by both.')
    if not (isinstance(level, (int, float)) and 0.0 < level < 1.0):
        raise ValueError(f'level must be in (0, 1), got {level!r}.')
    if not (isinstance(num_boot, (int, np.integer)) and num_boot >= 100):
        raise ValueError(f'num_boot must be an integer >= 100, got {num_boot!r}.')
    n = int(ref.size)
    lost = int(np.sum(ref & ~new))
    gained = int(np.sum(~ref & new))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, [lost / n, gained / n, (n - lost - gained) / n], size=num_boot)
    drops = (counts[:, 0] - counts[:, 1]) / n
    low, high = np.quantile(drops, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return dict(n=n, lost=lost, gained=gained,
                reference_top1=float(ref.mean()), new_top1=float(new.mean()),
                drop=(lost - gained) / n, low=float(low), high=float(high),
                level=float(level), num_boot=int(num_boot), seed=int(seed),
                method='paired bootstrap percentile')

