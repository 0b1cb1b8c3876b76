"""Run every stage of a cascade on every image (no routing): the reference."""
from typing import Dict

import numpy as np
import torch
from tqdm import tqdm

__all__ = ['predict_stages']


@torch.no_grad()
def predict_stages(model, dataloader, desc: str = 'records') -> Dict[str, np.ndarray]:
    """Class probabilities of each stage of a cascade on a whole dataset.

    Args:
        model: A TinySaver cascade (``stage_names``, ``stage_probs``).
        dataloader: Yields raw batches with ``gt_label`` in the data samples.
        desc (str): Progress-bar label.

    Returns:
        dict: ``labels`` (N,) and ``probs_<stage>`` (N, num_classes) arrays,
        in dataset order.

    Raises:
        ValueError: If the dataset is empty.
    """
    if len(dataloader.dataset) == 0:
        raise ValueError(f'{desc}: the dataset is empty; check the dataloader.')
    model.eval()
    probs = {role: [] for role in model.stage_names}
    labels = []
    for batch in tqdm(dataloader, desc=desc, unit='batch'):
        data = model.data_preprocessor(batch, False)
        for role in model.stage_names:
            probs[role].append(model.stage_probs(role, data['inputs']).cpu())
        labels += [int(ds.gt_label[0]) for ds in data['data_samples']]
    out = {f'probs_{r}': torch.cat(p).numpy() for r, p in probs.items()}
    out['labels'] = np.asarray(labels, dtype=np.int64)
    return out
