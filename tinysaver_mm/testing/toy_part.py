"""A trainable part for a cascade (tests the core's ``loss`` delegation)."""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['ToyExitHead']


class ToyExitHead(nn.Module):
    """Linear layer on the saver's frozen probabilities, trained for the labels.

    Args:
        num_classes (int): Classes of the cascade.
    """

    def __init__(self, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(num_classes, num_classes)

    def loss(self, inputs, data_samples, cascade) -> Dict[str, torch.Tensor]:
        """Cross-entropy of ``fc(saver probabilities)`` against ``gt_label``."""
        with torch.no_grad():
            probs = cascade.stage_probs('saver', inputs)
        labels = torch.cat([ds.gt_label for ds in data_samples])
        return dict(loss_toy=F.cross_entropy(self.fc(probs), labels))
