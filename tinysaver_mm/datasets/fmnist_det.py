"""A small COCO-format detection set built from Fashion-MNIST glyphs.

Each image is a dark, noisy canvas with faint unannotated clutter and 1..6
Fashion-MNIST objects, each resized to a random square scale, placed at a
random position (box IoU between objects capped at ``MAX_IOU``) and pasted
with max-blending. ``'train'`` draws objects from training images
``0..54999`` (``55000..59999`` stay free as the classifier's hold-out), and
``'val'`` from the t10k test files, so no val object is ever seen in training.

Plain numpy + Pillow (no torch). Generation is deterministic: image ``i`` of
a split depends only on ``(seed, split, i)``, so the same arguments give
byte-identical JSON and PNGs, and a smaller set is a prefix of a larger one.

COCO conventions used here: category ids are ``1..10`` (Fashion-MNIST label
``+ 1``, in ``FMNIST_CLASSES`` order; mmdet's ``CocoDataset`` maps them by
name through ``metainfo=FMNIST_METAINFO``), image and annotation ids start
at 1, ``bbox`` is ``[x, y, w, h]`` in pixels, tight around the resized
glyph's non-zero pixels. Annotations also carry ``src_set``
(``'train'``/``'t10k'``), ``src_index`` (row in that IDX file) and ``scale``;
image entries carry the difficulty hints ``num_objects``, ``min_scale`` and
``max_iou``.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'FMNIST_CLASSES', 'FMNIST_METAINFO', 'SPLIT_SOURCES', 'read_idx',
    'load_split_source', 'make_fmnist_det'
]

FMNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
FMNIST_METAINFO = dict(classes=FMNIST_CLASSES)

# split -> (IDX file prefix, number of source images objects are drawn from)
SPLIT_SOURCES = {'train': ('train', 55000), 'val': ('t10k', 10000)}

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
MIN_CANVAS = 32
MIN_SCALE, MAX_SCALE = 14, 64
MAX_OBJECTS = 6
MAX_IOU = 0.5
PLACE_TRIES = 30
_SPLIT_CODE = {'train': 0, 'val': 1}

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def _read_header(path: str, magic: int, ndim: int) -> Tuple[bytes, List[int]]:
    """Read an IDX file and check its magic number.

    Args:
        path: File to read.
        magic: Expected big-endian magic number (2051 images, 2049 labels).
        ndim: Number of dimension sizes following the magic number.

    Returns:
        tuple: The whole file's bytes and the dimension sizes.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: On a bad magic number or a truncated file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Fashion-MNIST file not found: {path}; run `bash tools/install.sh` '
            'to download and decompress it into data/fashion_mnist')
    with open(path, 'rb') as f:
        raw = f.read()
    header = np.frombuffer(raw[:4 * (1 + ndim)], dtype='>u4')
    if len(header) != 1 + ndim or int(header[0]) != magic:
        found = int(header[0]) if len(header) else None
        raise ValueError(f'{path}: bad IDX magic number {found}, expected {magic}')
    dims = [int(d) for d in header[1:]]
    if len(raw) - 4 * (1 + ndim) != int(np.prod(dims)):
        raise ValueError(f'{path}: truncated IDX file (header says {dims})')
    return raw, dims


def read_idx(images_path: str, labels_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read a pair of decompressed IDX files (MNIST / Fashion-MNIST layout).

    Args:
        images_path: ``*-images-idx3-ubyte`` file (16-byte header, uint8 pixels).
        labels_path: ``*-labels-idx1-ubyte`` file (8-byte header, uint8 labels).

    Returns:
        tuple: ``images`` uint8 of shape (N, H, W) and ``labels`` int64 (N,).

    Raises:
        FileNotFoundError: If a file is missing (names it, says to run
            ``bash tools/install.sh``).
        ValueError: On a bad magic number, a truncated file or a count mismatch.
    """
    raw, (n, h, w) = _read_header(images_path, IMAGES_MAGIC, 3)
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)
    raw, (m, ) = _read_header(labels_path, LABELS_MAGIC, 1)
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)
    if m != n:
        raise ValueError(f'{images_path} has {n} images but {labels_path} has {m} labels')
    return images, labels


def load_split_source(split: str, data_root: str = 'data/fashion_mnist'
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST images and labels a detection split draws from.

    Args:
        split: ``'train'`` (training images 0..54999) or ``'val'`` (t10k).
        data_root: Folder holding the four decompressed IDX files.

    Returns:
        tuple: ``images`` (N, 28, 28) uint8 and ``labels`` (N,) int64.

    Raises:
        ValueError: On an unknown split.
    """
    _check_split(split)
    prefix, count = SPLIT_SOURCES[split]
    images, labels = read_idx(osp.join(data_root, f'{prefix}-images-idx3-ubyte'),
                              osp.join(data_root, f'{prefix}-labels-idx1-ubyte'))
    return images[:count], labels[:count]


def _check_split(split: str) -> None:
    if split not in SPLIT_SOURCES:
        raise ValueError(f'unknown split {split!r}; expected one of {sorted(SPLIT_SOURCES)}')


def _check_args(split: str, num_images: int, canvas: Sequence[int]) -> Tuple[int, int]:
    """Validate ``make_fmnist_det`` arguments; return the canvas as (W, H)."""
    _check_split(split)
    return _check_count_and_canvas(num_images, canvas)


def _check_count_and_canvas(num_images: int, canvas: Sequence[int]) -> Tuple[int, int]:
    """Validate an image count and a (W, H) canvas of a glyph set; return (W, H)."""
    if isinstance(num_images, bool) or not isinstance(num_images, (int, np.integer)) \
            or num_images < 1:
        raise ValueError(f'num_images must be an integer >= 1, got {num_images!r}')
    if len(canvas) != 2 or any(int(c) != c or c < MIN_CANVAS for c in canvas):
        raise ValueError(
            f'canvas must be (width, height) with both >= {MIN_CANVAS}, got {canvas!r}')
    return int(canvas[0]), int(canvas[1])


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Dark noisy canvas with faint, unannotated strokes and blobs."""
    level = rng.integers(0, 25)
    noise = rng.normal(level, rng.uniform(3, 10), size=(h, w))
    img = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 5))):
        pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(2)]
        draw.line(pts, fill=int(rng.integers(35, 80)), width=int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(0, 3))):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 6)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.integers(30, 70)))
    return np.asarray(img).copy()


def _glyph(src: np.ndarray, scale: int, rng: np.random.Generator
           ) -> Tuple[np.ndarray, Box]:
    """Resize a 28x28 glyph to ``scale`` px with a random peak brightness.

    Returns:
        tuple: The (scale, scale) uint8 patch and its tight box of non-zero
        pixels as (x0, y0, x1, y1), or an empty patch box if all-zero.
    """
    patch = np.asarray(Image.fromarray(src).resize((scale, scale), Image.BILINEAR),
                       dtype=np.float64)
    peak = patch.max()
    if peak > 0:
        patch = patch * (rng.uniform(170, 255) / peak)
    patch = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(patch)
    if len(xs) == 0:
        return patch, (0, 0, 0, 0)
    return patch, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _iou(a: Box, b: Box) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _place(rng: np.random.Generator, size: int, tight: Box, w: int, h: int,
           boxes: List[Box]) -> Optional[Box]:
    """Random top-left for a ``size`` patch whose tight box keeps IoU <= MAX_IOU.

    Returns:
        The placed tight box on the canvas, or None if no try succeeded.
    """
    for _ in range(PLACE_TRIES):
        x, y = int(rng.integers(0, w - size + 1)), int(rng.integers(0, h - size + 1))
        box = (x + tight[0], y + tight[1], x + tight[2], y + tight[3])
        if all(_iou(box, other) <= MAX_IOU for other in boxes):
            return box
    return None


def _compose(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray,
             w: int, h: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw one canvas and its objects (category_id, bbox, src_index, scale)."""
    canvas = _background(rng, w, h)
    max_scale = min(MAX_SCALE, w, h)
    objects: List[dict] = []
    boxes: List[Box] = []
    for _ in range(int(rng.integers(1, MAX_OBJECTS + 1))):
        src = int(rng.integers(0, len(images)))
        scale = int(np.rint(np.exp(rng.uniform(np.log(MIN_SCALE), np.log(max_scale)))))
        patch, tight = _glyph(images[src], scale, rng)
        if tight[2] <= tight[0] or tight[3] <= tight[1]:
            continue
        box = _place(rng, scale, tight, w, h, boxes)
        if box is None:
            continue
        x, y = box[0] - tight[0], box[1] - tight[1]
        region = canvas[y:y + scale, x:x + scale]
        np.maximum(region, patch, out=region)
        boxes.append(box)
        objects.append(dict(category_id=int(labels[src]) + 1, src_index=src,
                            scale=scale, box=box))
    return canvas, objects


def _image_entry(idx: int, w: int, h: int, objects: List[dict]) -> dict:
    """COCO image record with difficulty hints."""
    boxes = [o['box'] for o in objects]
    ious = [_iou(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]]
    return dict(id=idx + 1, file_name=f'{idx:06d}.png', width=w, height=h,
                num_objects=len(objects),
                min_scale=min((o['scale'] for o in objects), default=0),
                max_iou=round(max(ious, default=0.0), 4))


def _annotation(ann_id: int, image_id: int, obj: dict, src_set: str) -> dict:
    """COCO annotation record for one placed object."""
    x0, y0, x1, y1 = obj['box']
    return dict(id=ann_id, image_id=image_id, category_id=obj['category_id'],
                bbox=[x0, y0, x1 - x0, y1 - y0], area=(x1 - x0) * (y1 - y0),
                iscrowd=0, src_set=src_set, src_index=obj['src_index'],
                scale=obj['scale'])


def make_fmnist_det(out_dir: str, split: str = 'train', num_images: int = 2000,
                    canvas: Sequence[int] = (128, 128), seed: int = 0,
                    data_root: str = 'data/fashion_mnist') -> str:
    """Write a COCO-format detection split made of Fashion-MNIST objects.

    Images go to ``out_dir/<split>/NNNNNN.png`` (grayscale PNG) and the
    annotations to ``out_dir/annotations/instances_<split>.json``. Existing
    files of the same names are overwritten; other files are left alone.

    Args:
        out_dir: Root folder of the dataset.
        split: ``'train'`` (objects from training images 0..54999) or
            ``'val'`` (objects from the t10k test images).
        num_images: Number of canvases, >= 1.
        canvas: Canvas size as (width, height), each >= 32.
        seed: Base seed; image ``i`` uses ``(seed, split, i)``.
        data_root: Folder holding the decompressed Fashion-MNIST IDX files.

    Returns:
        str: Path of the written annotation JSON.

    Raises:
        ValueError: On an unknown split, ``num_images < 1``, a canvas side
            below 32 or malformed IDX files.
        FileNotFoundError: If the Fashion-MNIST files are missing.
    """
    w, h = _check_args(split, num_images, canvas)
    images, labels = load_split_source(split, data_root)
    src_set = SPLIT_SOURCES[split][0]
    img_dir, ann_dir = osp.join(out_dir, split), osp.join(out_dir, 'annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    coco: Dict[str, list] = dict(images=[], annotations=[], categories=[
        dict(id=i + 1, name=name) for i, name in enumerate(FMNIST_CLASSES)])
    for idx in range(int(num_images)):
        rng = np.random.default_rng([int(seed), _SPLIT_CODE[split], idx])
        pixels, objects = _compose(rng, images, labels, w, h)
        entry = _image_entry(idx, w, h, objects)
        Image.fromarray(pixels).save(osp.join(img_dir, entry['file_name']))
        coco['images'].append(entry)
        for obj in objects:
            coco['annotations'].append(_annotation(
                len(coco['annotations']) + 1, entry['id'], obj, src_set))
    ann_file = osp.join(ann_dir, f'instances_{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return ann_file
