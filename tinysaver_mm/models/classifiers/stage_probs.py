"""Class probabilities of one mmpretrain classifier on a raw batch."""
from typing import List, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['preprocess', 'classifier_probs']

Inputs = Union[torch.Tensor, List[torch.Tensor]]


def preprocess(model: nn.Module, inputs: Inputs) -> torch.Tensor:
    """Apply the model's own data preprocessor to raw images (no training aug)."""
    return model.data_preprocessor({'inputs': inputs, 'data_samples': None},
                                   False)['inputs']


def classifier_probs(model: nn.Module, x: torch.Tensor, name: str = 'model') -> torch.Tensor:
    """Softmax of the logits a single-label classifier gives a preprocessed batch.

    Args:
        model (nn.Module): An mmpretrain classifier (``mode='tensor'`` gives
            logits).
        x (torch.Tensor): Preprocessed batch.
        name (str): What to call the model in errors.

    Returns:
        torch.Tensor: Probabilities (N, num_classes), float32.

    Raises:
        ValueError: If the model does not return (N, num_classes) logits.
    """
    logits = model(x, mode='tensor')
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError(f'The {name} head must return logits of shape '
                         f'(N, num_classes), got {type(logits).__name__}.')
    return F.softmax(logits.float(), dim=1)
