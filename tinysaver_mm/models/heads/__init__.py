"""Task-agnostic parts of learned exit heads (task heads live with their task)."""
from .base_exit_head import BaseExitHead

__all__ = ['BaseExitHead']
