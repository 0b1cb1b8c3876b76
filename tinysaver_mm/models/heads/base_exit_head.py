"""What every learned exit head shares: standardised inputs, an MLP, a saver fingerprint."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

__all__ = ['BaseExitHead']


class BaseExitHead(BaseModule):
    """Scores how likely a saver's answer on an image is as good as the base's.

    A task's head says only how it turns what the saver already computed into
    one fixed-size row per image (its ``inputs`` method, whose width is
    ``in_channels``). This base standardises the rows with statistics fitted
    on training records (``input_mean``/``input_std`` buffers), applies a
    two-layer MLP giving a logit, and keeps the SHA-256 fingerprint of the
    saver it was trained for (``saver_fingerprint``, all zeros until trained)
    so a cascade can refuse it next to another saver.

    Args:
        in_channels (int): Width of the input rows.
        hidden_channels (int): Width of the hidden layer.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If a width is below 1.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if int(in_channels) < 1 or int(hidden_channels) < 1:
            raise ValueError(f'in_channels={in_channels!r} and hidden_channels='
                             f'{hidden_channels!r} must be >= 1.')
        self.in_channels = int(in_channels)
        self.mlp = nn.Sequential(nn.Linear(self.in_channels, int(hidden_channels)), nn.ReLU(),
                                 nn.Linear(int(hidden_channels), 1))
        self.register_buffer('input_mean', torch.zeros(self.in_channels))
        self.register_buffer('input_std', torch.ones(self.in_channels))
        self.register_buffer('saver_fingerprint', torch.zeros(32, dtype=torch.uint8))

    @property
    def trained_for(self) -> Optional[bytes]:
        """Fingerprint of the saver the head was trained for (None if untrained)."""
        raw = bytes(self.saver_fingerprint.tolist())
        return None if raw == bytes(32) else raw

    def set_trained_for(self, fingerprint: bytes) -> None:
        """Record the saver this head is trained for (32-byte SHA-256)."""
        if len(fingerprint) != 32:
            raise ValueError('A saver fingerprint is a 32-byte SHA-256 digest.')
        self.saver_fingerprint.copy_(torch.tensor(list(fingerprint), dtype=torch.uint8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for raw input rows (N, in_channels)."""
        x = (x.to(self.input_mean.device) - self.input_mean) / self.input_std
        return self.mlp(x).squeeze(-1)

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Exit scores in [0, 1] for raw input rows (N, in_channels)."""
        return torch.sigmoid(self.forward(x)).cpu()
