"""Small image-folder datasets (mmpretrain ``CustomDataset`` layout) for tests."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['write_image_folder']


def write_image_folder(root: str, classes: Sequence[str], per_split: Dict[str, int],
                       colour: bool = False, size: int = 12, seed: int = 0,
                       source: Optional[Tuple[np.ndarray, np.ndarray, Sequence[int]]] = None
                       ) -> Dict[str, List[Tuple[str, int]]]:
    """Write ``root/<split>/<class>/<n>.png``, ``per_split[split]`` images per class.

    Args:
        root (str): Dataset root (created).
        classes (Sequence[str]): Class folder names (their sorted order is the label).
        per_split (dict): Split -> images per class (0 leaves the class folders empty).
        colour (bool): Write 3-channel images with different channels.
        size (int): Side of the random images (when ``source`` is None).
        seed (int): For the random images.
        source (tuple, optional): ``(images (N, H, W) uint8, labels (N,),
            source label of each class)``: real images instead of random ones,
            each split taking the next unused images of each class.

    Returns:
        dict: Split -> ``[(path, label index), ...]`` in sorted-folder order.
    """
    import cv2
    rng = np.random.default_rng(seed)
    used: Dict[int, int] = {}
    files: Dict[str, List[Tuple[str, int]]] = {}
    order = sorted(range(len(classes)), key=lambda i: classes[i])
    for split, num in per_split.items():
        files[split] = []
        for label, ci in enumerate(order):
            folder = osp.join(root, split, classes[ci])
            os.makedirs(folder, exist_ok=True)
            if source is None:
                imgs = rng.integers(0, 256, (num, size, size), dtype=np.uint8)
            else:
                src_label = source[2][ci]
                start = used.get(src_label, 0)
                idx = np.flatnonzero(source[1] == src_label)[start:start + num]
                used[src_label] = start + num
                imgs = source[0][idx]
            for n, img in enumerate(imgs):
                if colour:  # a tinted copy: three different channels (BGR on disk)
                    img = np.stack([img, img // 2, 255 - img], -1)
                path = osp.join(folder, f'{n:04d}.png')
                cv2.imwrite(path, img)
                files[split].append((path, label))
    return files
