"""Class probabilities of one mmpretrain classifier on a raw batch."""
from typing import List, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['preprocess', 'classifier_probs', 'check_single_label', 'stage_inputs_of']

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


def check_single_label(model: nn.Module, role: str) -> nn.Module:
    """Refuse a multi-label head (softmax exits need one label per image).

    Returns:
        nn.Module: ``model`` itself.

    Raises:
        ValueError: If its head is an mmpretrain ``MultiLabelClsHead``.
    """
    from mmpretrain.models.heads import MultiLabelClsHead
    head = getattr(model, 'head', None)
    if isinstance(head, MultiLabelClsHead):
        raise ValueError(
            f'The {role} has a multi-label head ({type(head).__name__}); '
            'TinySaver exits on softmax confidence, which needs a '
            'single-label head. Use e.g. LinearClsHead for the ' + role + '.')
    return model


def stage_inputs_of(model: nn.Module, role: str, inputs: Inputs) -> torch.Tensor:
    """A stage's own preprocessing of raw images, refusing another channel count.

    Raises:
        ValueError: If the images have another channel count than the
            stage's first convolution takes.
    """
    x = preprocess(model, inputs)
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None and x.dim() == 4 and x.shape[1] != conv.in_channels:
        raise ValueError(
            f'The {role} takes {conv.in_channels}-channel images but got inputs of shape '
            f'{tuple(int(d) for d in x.shape)}. Give {conv.in_channels}-channel images (mmpretrain\'s '
            'tools/analysis_tools/get_flops.py always probes (3, H, W): for this cascade '
            'call mmengine\'s get_model_complexity_info(cascade, inputs=...) with its own '
            'images, or measure the cascade with tools/test.py: TinySaverMACsHook and '
            'TinySaverMetric report each stage\'s and the routed cascade\'s MACs).')
    return x
