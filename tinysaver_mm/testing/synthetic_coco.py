"""Synthetic COCO ground truth and two noisy detectors (a worse saver, a better base)."""
import json
from typing import List, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

__all__ = ['synthetic_coco']


def synthetic_coco(tmp_path, num_images: int = 24, num_cats: int = 3, seed: int = 0) -> Tuple[str, List[int], list, list]:
    """Random ground truth and two noisy detectors (a worse 'saver', a better 'base').

    Args:
        tmp_path (pathlib.Path): Folder for ``gt.json``.
        num_images (int): Images (every 7th has no object).
        num_cats (int): Categories (ids 1..num_cats).
        seed (int): Random seed.

    Returns:
        tuple: Annotation file path, image ids, saver instances, base instances.
    """
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(1, num_images + 1):
        images.append(dict(id=i, width=100, height=80, file_name=f'{i}.png'))
        for _ in range(rng.integers(0 if i % 7 == 0 else 1, 5)):
            x, y = rng.uniform(0, 60), rng.uniform(0, 40)
            w, h = rng.uniform(5, 40), rng.uniform(5, 40)
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=int(rng.integers(1, num_cats + 1)),
                             bbox=[x, y, w, h], area=w * h, iscrowd=int(rng.random() < 0.05)))
    cats = [dict(id=c, name=f'c{c}') for c in range(1, num_cats + 1)]
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))

    def detector(noise, miss, fp):
        out = []
        for img in images:
            boxes, scores, labels = [], [], []
            for a in (a for a in anns if a['image_id'] == img['id']):
                if rng.random() < miss:
                    continue
                x, y, w, h = np.array(a['bbox']) + rng.normal(0, noise, 4)
                boxes.append([x, y, x + max(w, 1), y + max(h, 1)])
                scores.append(rng.uniform(0.3, 1.0))
                lab = a['category_id'] - 1 if rng.random() > miss else int(rng.integers(num_cats))
                labels.append(lab)
            for _ in range(rng.integers(0, fp + 1)):
                x, y = rng.uniform(0, 80), rng.uniform(0, 60)
                boxes.append([x, y, x + rng.uniform(3, 20), y + rng.uniform(3, 20)])
                scores.append(rng.uniform(0.0, 0.6))
                labels.append(int(rng.integers(num_cats)))
            inst = InstanceData()
            inst.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
            inst.scores = torch.tensor(scores, dtype=torch.float32)
            inst.labels = torch.tensor(labels, dtype=torch.long)
            out.append(inst)
        return out

    return str(path), [im['id'] for im in images], detector(4.0, 0.3, 4), detector(1.0, 0.05, 2)
