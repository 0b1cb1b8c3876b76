"""The exit modules of an Exit Sequence Network (ESN): tokens, causal attention, heads."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

__all__ = ['CausalSelfAttentionBlock', 'ESNExits', 'positive_int']


def positive_int(value, name: str) -> int:
    """``value`` as an int, refusing what is not a positive integer.

    Raises:
        ValueError: If ``value`` is not an integer >= 1 (a bool is refused too).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}={value!r} must be a positive integer (e.g. {name}=1).')
    return value


class CausalSelfAttentionBlock(nn.Module):
    """A pre-norm transformer block whose token ``t`` sees only tokens ``<= t``.

    Args:
        dim (int): Token width.
        num_heads (int): Attention heads (dividing ``dim``).
        mlp_ratio (int): Hidden width of the MLP over ``dim``.
    """

    def __init__(self, dim: int, num_heads: int = 1, mlp_ratio: int = 2):
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(),
                                 nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (N, T, dim) -> tokens (N, T, dim)."""
        n, t, d = x.shape
        h = self.num_heads
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d // h)
        later = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = att.masked_fill(later, float('-inf')).softmax(dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(n, t, d)
        x = x + self.proj(y)
        return x + self.mlp(self.norm2(x))


class ESNExits(BaseModule):
    """The trainable part of an ESN: one token per position, causal attention, one head per exit.

    Token ``p`` is a pooled feature (the saver's last one first, when
    ``use_saver_token``, then the output of each chosen base stage),
    normalised (LayerNorm) and projected to ``dim``. The tokens go through
    ``num_attn_layers`` pre-norm causal self-attention blocks; exit ``j``
    (1-based: exit 0 is the saver itself) reads the token of its base stage,
    and its logits are a linear head on it plus the saver's logits (the
    ESN). Without the saver token (``use_saver_token=False``, the ablation:
    plain attached exits as in SDN/DyCE) an exit's logits are its linear
    head alone, the saver's logits are not added, and the loss weighs every
    image 1. The SHA-256 fingerprints of the saver and the base it was
    trained for are buffers (all zeros until trained), so a cascade refuses
    it next to other stages.

    Args:
        in_channels (Sequence[int]): Width of each token's pooled feature, in
            order (the saver's first when ``use_saver_token``).
        num_classes (int): Classes of the saver and the base.
        dim (int): Token width. Defaults to 64.
        num_attn_layers (int): Causal self-attention blocks. Defaults to 1.
        num_heads (int): Attention heads (dividing ``dim``). Defaults to 1.
        mlp_ratio (int): Hidden width of each block's MLP over ``dim``.
            Defaults to 2.
        use_saver_token (bool): Whether the saver's feature is token 0 and
            its logits are added to every exit's (the ESN); False gives plain
            attached exits (SDN/DyCE). Defaults to True.
        init_cfg (dict, optional): mmengine init config.

    Raises:
        ValueError: If a width, count or ``dim`` is not a positive integer,
            or ``num_heads`` does not divide ``dim``.
    """

    def __init__(self, in_channels: Sequence[int], num_classes: int, dim: int = 64,
                 num_attn_layers: int = 1, num_heads: int = 1, mlp_ratio: int = 2,
                 use_saver_token: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.dim = positive_int(dim, 'exits.dim')
        positive_int(num_attn_layers, 'exits.num_attn_layers')
        positive_int(num_heads, 'exits.num_heads')
        positive_int(mlp_ratio, 'exits.mlp_ratio')
        positive_int(num_classes, 'num_classes')
        if dim % num_heads:
            raise ValueError(f'exits.num_heads={num_heads} must divide exits.dim={dim}.')
        self.in_channels = [positive_int(c, 'in_channels[]') for c in in_channels]
        if not isinstance(use_saver_token, bool):
            raise ValueError(f'exits.saver_token={use_saver_token!r} must be True (the ESN) '
                             'or False (plain attached exits, the ablation).')
        self.use_saver_token = use_saver_token
        self.num_exits = len(self.in_channels) - int(self.use_saver_token)
        self.embed = nn.ModuleList(nn.Sequential(nn.LayerNorm(c), nn.Linear(c, dim))
                                   for c in self.in_channels)
        self.blocks = nn.Sequential(*(CausalSelfAttentionBlock(dim, num_heads, mlp_ratio)
                                      for _ in range(num_attn_layers)))
        self.norm = nn.LayerNorm(dim)
        self.heads = nn.ModuleList(nn.Linear(dim, num_classes) for _ in range(self.num_exits))
        self.register_buffer('saver_fingerprint', torch.zeros(32, dtype=torch.uint8))
        self.register_buffer('base_fingerprint', torch.zeros(32, dtype=torch.uint8))

    # ---------------------------------------------------------- fingerprints
    def fingerprint_for(self, stage: str) -> Optional[bytes]:
        """Fingerprint of the ``'saver'`` or ``'base'`` it was trained for (None if untrained)."""
        raw = bytes(getattr(self, f'{stage}_fingerprint').tolist())
        return None if raw == bytes(32) else raw

    def set_trained_for(self, saver: bytes, base: bytes) -> None:
        """Record the saver and base this part is trained for (32-byte SHA-256 each)."""
        for stage, digest in (('saver', saver), ('base', base)):
            if len(digest) != 32:
                raise ValueError(f'A {stage} fingerprint is a 32-byte SHA-256 digest.')
            getattr(self, f'{stage}_fingerprint').copy_(
                torch.tensor(list(digest), dtype=torch.uint8))

    # --------------------------------------------------------------- forward
    def position(self, exit_index: int) -> int:
        """Token position read by exit ``exit_index`` (1-based)."""
        return exit_index - 1 + int(self.use_saver_token)

    def token(self, position: int, feature: torch.Tensor) -> torch.Tensor:
        """Token ``position`` (N, dim) from its pooled feature (N, in_channels[position])."""
        return self.embed[position](feature)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens (N, T, dim) through the causal blocks and the final norm."""
        return self.norm(self.blocks(tokens))

    def _add_saver(self, logits: torch.Tensor, saver_logits: torch.Tensor) -> torch.Tensor:
        """Exit logits plus the saver's (the ESN); unchanged without the saver token."""
        if not self.use_saver_token:
            return logits
        return logits + (saver_logits if logits.dim() == 2 else saver_logits[:, None])

    def exit_logits(self, exit_index: int, tokens: torch.Tensor,
                    saver_logits: torch.Tensor) -> torch.Tensor:
        """Logits of exit ``exit_index`` (N, num_classes) from the tokens up to
        its own (N, T, dim), ``T = position(exit_index) + 1``: the causal mask
        makes this equal to the same exit on the whole sequence."""
        return self._add_saver(self.heads[exit_index - 1](self.encode(tokens)[:, -1]),
                               saver_logits)

    def forward(self, features: Sequence[torch.Tensor],
                saver_logits: torch.Tensor) -> torch.Tensor:
        """Every exit's logits on the full, unrouted sequence.

        Args:
            features (Sequence[Tensor]): The pooled feature of every token, in
                order, each (N, in_channels[p]).
            saver_logits (Tensor): The saver's logits (N, num_classes).

        Returns:
            Tensor: Logits (N, num_exits, num_classes).

        Raises:
            ValueError: If the number of features is not one per token.
        """
        if len(features) != len(self.in_channels):
            raise ValueError(f'ESNExits takes {len(self.in_channels)} token features, got '
                             f'{len(features)}.')
        tokens = torch.stack([self.token(p, f) for p, f in enumerate(features)], dim=1)
        encoded = self.encode(tokens)
        return self._add_saver(torch.stack([self.heads[j - 1](encoded[:, self.position(j)])
                                            for j in range(1, self.num_exits + 1)], dim=1),
                               saver_logits)

    def loss(self, logits: torch.Tensor, saver_logits: torch.Tensor,
             labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The official ESN loss: per-exit cross-entropy, each image weighted by
        2 x (1 - the saver's max-softmax confidence), summed over exits.

        Without the saver token (the ablation) every image weighs 1: plain
        attached exits train on every image alike, as SDN/DyCE do.

        Args:
            logits (Tensor): Every exit's logits (N, num_exits, num_classes).
            saver_logits (Tensor): The saver's logits (N, num_classes).
            labels (Tensor): Class indices (N,).

        Returns:
            dict[str, Tensor]: ``loss`` (what the optimiser minimises).
        """
        if self.use_saver_token:
            weight = 2.0 * (1.0 - F.softmax(saver_logits.detach().float(), dim=1).amax(dim=1))
        else:
            weight = torch.ones(len(labels), device=logits.device)
        total = logits.new_zeros(())
        for j in range(logits.shape[1]):
            total = total + (F.cross_entropy(logits[:, j].float(), labels,
                                             reduction='none') * weight).mean()
        return dict(loss=total)
