"""Which training target a detection evaluator head was fitted on, kept in its weights.

A head fitted on one target (``'binary'``: the saver's per-image AP is within
a tolerance of the base's; ``'oric'``: the quantile of the image's ORIC, its
marginal contribution to dataset mAP when the base answers it) gives scores
on another scale, so its calibrated threshold means nothing for the other.
The target is a buffer (``trained_target``, 0 until trained); loading weights
trained on another target than the head's configured ``target`` is refused.
Checkpoints from before the buffer existed were all trained on ``'binary'``.
"""
from typing import Dict

import torch

__all__ = ['EXIT_TARGETS', 'ExitTargetMixin', 'check_exit_target']

EXIT_TARGETS: Dict[str, int] = {'binary': 1, 'oric': 2}


def check_exit_target(target: str) -> str:
    """``target`` if it is one of :data:`EXIT_TARGETS`.

    Raises:
        ValueError: Naming the known targets.
    """
    if target not in EXIT_TARGETS:
        raise ValueError(f'target={target!r} is not an evaluator target; choose one of '
                         f'{sorted(EXIT_TARGETS)}.')
    return target


class ExitTargetMixin:
    """Adds ``target`` and the ``trained_target`` buffer to an exit head (call
    :meth:`init_target` in ``__init__`` after ``nn.Module.__init__``)."""

    def init_target(self, target: str) -> None:
        self.target = check_exit_target(target)
        self.register_buffer('trained_target', torch.zeros((), dtype=torch.uint8))
        # what strict loading fills into checkpoints from before the buffer existed
        self.legacy_state_defaults = {
            'trained_target': torch.tensor(EXIT_TARGETS['binary'], dtype=torch.uint8)}

    def set_trained_target(self) -> None:
        """Record that the weights were fitted on :attr:`target`."""
        self.trained_target.fill_(EXIT_TARGETS[self.target])

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + 'trained_target'
        if key not in state_dict:  # checkpoints before targets existed: all 'binary'
            state_dict[key] = torch.tensor(EXIT_TARGETS['binary'], dtype=torch.uint8)
        code = int(state_dict[key])
        names = {v: k for k, v in EXIT_TARGETS.items()}
        if code and code != EXIT_TARGETS[self.target]:
            raise ValueError(
                f'This evaluator checkpoint was trained on the {names.get(code, code)!r} target '
                f'but the head is configured with target={self.target!r}: its scores and '
                f"calibrated threshold belong to {names.get(code, code)!r}. Set the evaluator's "
                f"target={names.get(code, code)!r} (as tools/train_evaluator.py printed) or "
                'retrain the head on the target you want.')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)
