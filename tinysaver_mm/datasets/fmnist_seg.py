"""A small semantic-segmentation set built from Fashion-MNIST glyphs.

Each image is a dark noisy canvas with unannotated clutter (strokes and
blobs, label 0) and 1..6 Fashion-MNIST glyphs, each resized to a random
square scale and pasted at a random position. A glyph's mask is the set of
its resized pixels at or above ``MASK_THRESHOLD`` (on the glyph's own
0..255 scale, before the random brightness); inside its mask a glyph
replaces what was there, so a later glyph occludes earlier ones, in the
image and in the label map alike. Sensor noise is added last.

Every image draws a difficulty ``d`` in [0, 1) that sets how many glyphs it
holds, how small they may get, how much their boxes may overlap, how bright
and how many the clutter strokes are, how dim the glyphs may be and how
noisy the canvas is, so some images are easy and others hard.

Labels: 0 is background, ``c + 1`` the Fashion-MNIST class ``c`` (11
classes, ``FMNIST_SEG_CLASSES`` order); no pixel is 255 (ignore).

Splits (as the detection set): ``'train'`` and ``'holdout'`` draw glyphs from
training images ``0..54999`` (``55000..59999`` stay the classifier's
hold-out), on different canvases; ``'val'`` draws from the t10k test files,
so no val glyph is ever seen in training.

Plain numpy + Pillow (no torch, no mmseg). Generation is deterministic: image
``i`` of a split depends only on ``(seed, split, i)``, so the same arguments
give byte-identical PNGs and JSON, and a smaller set is a prefix of a larger
one.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .fmnist_det import FMNIST_CLASSES, _check_count_and_canvas, _iou, load_split_source

__all__ = [
    'FMNIST_SEG_CLASSES', 'FMNIST_SEG_PALETTE', 'FMNIST_SEG_METAINFO',
    'SEG_SPLITS', 'MASK_THRESHOLD', 'glyph_mask', 'make_fmnist_seg'
]

FMNIST_SEG_CLASSES = ('background', ) + FMNIST_CLASSES
FMNIST_SEG_PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
                      [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
                      [240, 50, 230], [210, 245, 60], [250, 190, 212]]
FMNIST_SEG_METAINFO = dict(classes=FMNIST_SEG_CLASSES, palette=FMNIST_SEG_PALETTE)

# split -> (glyph source of ``load_split_source``, seed code)
SEG_SPLITS = {'train': ('train', 0), 'holdout': ('train', 1), 'val': ('val', 2)}

MASK_THRESHOLD = 48  # resized glyph value (0..255) from which a pixel is the glyph's
MIN_SCALE, MAX_SCALE = 16, 72
MAX_OBJECTS = 6
PLACE_TRIES = 30

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def glyph_mask(src: np.ndarray, scale: int) -> Tuple[np.ndarray, np.ndarray]:
    """Resize a 28x28 glyph to ``scale`` px; return it and its mask.

    Args:
        src: (28, 28) uint8 Fashion-MNIST image.
        scale: Side of the resized square, in pixels.

    Returns:
        tuple: The resized glyph as uint8 (scale, scale) (bilinear, rounded)
        and its bool mask ``glyph >= MASK_THRESHOLD``.
    """
    resized = np.asarray(Image.fromarray(src).resize((scale, scale), Image.BILINEAR))
    return resized, resized >= MASK_THRESHOLD


def _check_args(split: str, num_images: int, canvas: Sequence[int]) -> Tuple[int, int]:
    """Validate ``make_fmnist_seg`` arguments; return the canvas as (W, H)."""
    if split not in SEG_SPLITS:
        raise ValueError(f'unknown split {split!r}; expected one of {sorted(SEG_SPLITS)}')
    return _check_count_and_canvas(num_images, canvas)


def _background(rng: np.random.Generator, w: int, h: int, d: float) -> np.ndarray:
    """Dark canvas with unannotated strokes and blobs (more, brighter when hard)."""
    img = Image.new('L', (w, h), int(rng.integers(0, 25)))
    draw = ImageDraw.Draw(img)
    top = int(80 + 120 * d)
    for _ in range(int(rng.integers(0, 2 + int(6 * d)))):
        pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(2)]
        draw.line(pts, fill=int(rng.integers(35, top)), width=int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(0, 1 + int(4 * d)))):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 7)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.integers(30, top)))
    return np.asarray(img, dtype=np.float64).copy()


def _place(rng: np.random.Generator, mask: np.ndarray, w: int, h: int,
           boxes: List[Box], max_iou: float) -> Optional[Tuple[int, int, Box]]:
    """Random top-left for a glyph whose mask box keeps IoU <= ``max_iou``.

    Returns:
        ``(x, y, box)`` with the mask's tight box on the canvas, or None.
    """
    size = mask.shape[0]
    ys, xs = np.nonzero(mask)
    tight = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    for _ in range(PLACE_TRIES):
        x, y = int(rng.integers(0, w - size + 1)), int(rng.integers(0, h - size + 1))
        box = (x + tight[0], y + tight[1], x + tight[2], y + tight[3])
        if all(_iou(box, other) <= max_iou for other in boxes):
            return x, y, box
    return None


def _compose(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray,
             w: int, h: int) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Draw one canvas, its label map and its record (difficulty, objects)."""
    d = float(rng.uniform())
    canvas = _background(rng, w, h, d)
    label = np.zeros((h, w), np.uint8)
    hi = min(MAX_SCALE, w, h)
    lo = min(hi, int(round(MIN_SCALE + (1 - d) * 24)))
    max_iou = 0.6 * d
    objects: List[dict] = []
    boxes: List[Box] = []
    for _ in range(1 + int(rng.binomial(MAX_OBJECTS - 1, 0.1 + 0.7 * d))):
        src = int(rng.integers(0, len(images)))
        scale = int(np.rint(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        glyph, mask = glyph_mask(images[src], scale)
        if not mask.any():
            continue
        placed = _place(rng, mask, w, h, boxes, max_iou)
        if placed is None:
            continue
        x, y, box = placed
        peak = float(rng.uniform(255 - 140 * d, 255))
        patch = glyph.astype(np.float64) * (peak / max(int(glyph.max()), 1))
        canvas[y:y + scale, x:x + scale][mask] = patch[mask]
        label[y:y + scale, x:x + scale][mask] = int(labels[src]) + 1
        boxes.append(box)
        objects.append(dict(label=int(labels[src]) + 1, src_index=src, scale=scale,
                            x=x, y=y, peak=round(peak, 3)))
    sigma = 3 + 22 * d
    canvas = canvas + rng.normal(0.0, sigma, size=canvas.shape)
    pixels = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    record = dict(difficulty=round(d, 4), noise_sigma=round(sigma, 3),
                  num_objects=len(objects), objects=objects)
    return pixels, label, record


def make_fmnist_seg(out_dir: str, split: str = 'train', num_images: int = 2000,
                    canvas: Sequence[int] = (96, 96), seed: int = 0,
                    data_root: str = 'data/fashion_mnist') -> str:
    """Write one split of the Fashion-MNIST segmentation set.

    Images go to ``out_dir/<split>/img/NNNNNN.png`` (grayscale), label maps
    to ``out_dir/<split>/ann/NNNNNN.png`` (8-bit, values 0..10) and the
    per-image records (difficulty, noise, and for every pasted glyph its
    label, ``src_index`` in the source IDX file, scale and top-left ``x, y``
    in paste order) to ``out_dir/<split>/objects.json``. Existing files of
    the same names are overwritten; other files are left alone.

    Args:
        out_dir: Root folder of the dataset.
        split: ``'train'``, ``'holdout'`` (both from training glyphs
            0..54999) or ``'val'`` (t10k glyphs).
        num_images: Number of canvases, >= 1.
        canvas: Canvas size as (width, height), each >= 32.
        seed: Base seed; image ``i`` uses ``(seed, split, i)``.
        data_root: Folder holding the decompressed Fashion-MNIST IDX files.

    Returns:
        str: Path of the written ``objects.json``.

    Raises:
        ValueError: On an unknown split, ``num_images < 1``, a canvas side
            below 32 or malformed IDX files.
        FileNotFoundError: If the Fashion-MNIST files are missing.
    """
    w, h = _check_args(split, num_images, canvas)
    source, code = SEG_SPLITS[split]
    images, labels = load_split_source(source, data_root)
    img_dir, ann_dir = osp.join(out_dir, split, 'img'), osp.join(out_dir, split, 'ann')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    records: Dict[str, object] = dict(
        classes=list(FMNIST_SEG_CLASSES), glyph_source=source, mask_threshold=MASK_THRESHOLD,
        width=w, height=h, images=[])
    for idx in range(int(num_images)):
        rng = np.random.default_rng([int(seed), code, idx])
        pixels, label, record = _compose(rng, images, labels, w, h)
        name = f'{idx:06d}.png'
        Image.fromarray(pixels).save(osp.join(img_dir, name))
        Image.fromarray(label).save(osp.join(ann_dir, name))
        records['images'].append(dict(file_name=name, **record))
    path = osp.join(out_dir, split, 'objects.json')
    with open(path, 'w') as f:
        json.dump(records, f)
    return path
