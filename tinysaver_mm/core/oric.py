"""ORIC: each image's marginal contribution to dataset mAP when the base answers it.

Dataset COCO mAP ranks detections across images and weighs an image by its
objects, so the per-image AP gap (:func:`~tinysaver_mm.core.quality_gap`)
is only a proxy of what a routing decision costs. ORIC (Qiu et al., SEC
2024, arXiv 2410.18919) measures it directly: with ``E`` a random context of
other images, all answered by the saver,

    ORIC_i = (|E| + 1) * [mAP(E_saver + {i by base}) - mAP(E_saver + {i by saver})]

averaged over ``num_draws`` independent contexts. Positive means sending the
image to the base raises dataset mAP; the ``|E| + 1`` factor puts it on the
per-image scale. The mAP is pycocotools' (IoU .50:.95, 101 recall points, 100
detections per image), accumulated from each model's ``COCOeval.evalImgs``
entries by :func:`~tinysaver_mm.core.dataset_ap` (matching is per image and
category, so this equals evaluating the merged detections; tested against
pycocotools).

Defaults: context ``|E| = 99`` other images (sets of 100) and 8 draws per
image; both are stored with every target built from them.

Plain numpy.
"""
from typing import Dict, List, Mapping, Sequence

import numpy as np

from .det_quality import dataset_ap

__all__ = ['ORIC_CONTEXT_SIZE', 'ORIC_NUM_DRAWS', 'check_entries_cover', 'oric_scores']

ORIC_CONTEXT_SIZE = 99
ORIC_NUM_DRAWS = 8
_ENTRY_KEYS = ('dtScores', 'dtMatches', 'dtIgnore', 'gtIgnore', 'category_id')


def check_entries_cover(by_image: Mapping[int, List[dict]], img_ids: Sequence[int],
                        what: str) -> None:
    """Refuse per-image COCO entries that do not cover every image.

    Args:
        by_image (Mapping): Image id to its pycocotools entries (an image with
            neither ground truth nor detections maps to ``[]``).
        img_ids (Sequence[int]): The images the entries must cover.
        what (str): Names the entries in messages (e.g. ``'saver'``).

    Raises:
        ValueError: If an image has no key, or an entry lacks a pycocotools
            field.
    """
    missing = [int(i) for i in img_ids if int(i) not in by_image]
    if missing:
        raise ValueError(
            f'The {what} has no per-image COCO entries for {len(missing)} image(s) (e.g. '
            f'{missing[:5]}): ORIC needs every image\'s pycocotools entries (an empty list when '
            'it has neither ground truth nor detections). Build them with '
            'CocoEntries(ann_file, img_ids, instances).complete_by_image() over the records\' '
            'images (records from tools/record.py carry the ann_file this needs).')
    for i in img_ids:
        for e in by_image[int(i)]:
            absent = [k for k in _ENTRY_KEYS if k not in e]
            if absent:
                raise ValueError(f'The {what}\'s entry of image {int(i)} lacks {absent}: pass '
                                 'COCOeval.evalImgs entries (area range all).')


def oric_scores(saver: Mapping[int, List[dict]], base: Mapping[int, List[dict]],
                img_ids: Sequence[int], context_size: int = ORIC_CONTEXT_SIZE,
                num_draws: int = ORIC_NUM_DRAWS, seed: int = 0,
                max_det: int = 100) -> np.ndarray:
    """ORIC of every image: its mAP gain, in context, when the base answers it.

    For image ``i`` and each draw, a context ``E`` of ``context_size`` other
    images of ``img_ids`` is drawn without replacement (a seeded generator,
    so the result depends only on the inputs and ``seed``); the context is
    answered by the saver, image ``i`` by the base and then by the saver.

    Args:
        saver (Mapping): Image id to the saver's pycocotools entries (area
            range all), covering every image of ``img_ids``.
        base (Mapping): The same for the base.
        img_ids (Sequence[int]): The images, in the order of the result.
        context_size (int): ``|E|``, other images per context (at most
            ``len(img_ids) - 1``).
        num_draws (int): Contexts drawn per image (the result is their mean).
        seed (int): Seed of the context draws.
        max_det (int): Detections per image kept.

    Returns:
        np.ndarray: ORIC per image (float64); positive where the base helps.
        An image whose contexts have no ground truth at all gets 0.

    Raises:
        ValueError: If ``context_size`` or ``num_draws`` is not a positive
            integer, the context is larger than the other images, or the
            entries do not cover the images.
    """
    img_ids = [int(i) for i in img_ids]
    n = len(img_ids)
    for name, value in (('context_size', context_size), ('num_draws', num_draws)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f'{name}={value!r} must be a positive integer.')
    if len(set(img_ids)) != n:
        raise ValueError('img_ids repeat an image: give each image once.')
    if context_size > n - 1:
        raise ValueError(
            f'ORIC context_size={context_size} is larger than the {n - 1} other images of the '
            f'records: lower the context (e.g. --oric-context {max(n - 1, 1)}) or record more '
            'images.')
    check_entries_cover(saver, img_ids, 'saver')
    check_entries_cover(base, img_ids, 'base')
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for k, img in enumerate(img_ids):
        others = np.delete(np.arange(n), k)
        total = 0.0
        for _ in range(int(num_draws)):
            ctx: Dict[int, List[dict]] = {img_ids[j]: saver[img_ids[j]]
                                          for j in rng.choice(others, int(context_size),
                                                              replace=False)}
            with_base = dataset_ap({**ctx, img: base[img]}, max_det)
            with_saver = dataset_ap({**ctx, img: saver[img]}, max_det)
            diff = np.nan_to_num(with_base - with_saver, nan=0.0)
            total += float(diff)
        out[k] = (int(context_size) + 1) * total / int(num_draws)
    return out
