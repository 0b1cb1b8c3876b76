"""Task-agnostic parts of learned exit heads (task heads live with their task), and the ESN's exits."""
from .base_exit_head import BaseExitHead
from .esn_exits import CausalSelfAttentionBlock, ESNExits, positive_int

__all__ = ['BaseExitHead', 'CausalSelfAttentionBlock', 'ESNExits', 'positive_int']
