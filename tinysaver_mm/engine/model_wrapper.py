"""Distributed wrapper for cascades whose parts are all frozen."""
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

__all__ = ['TinySaverDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class TinySaverDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper, or a plain holder when nothing trains.

    torch's DDP refuses a module without a parameter that requires a gradient,
    which is what an inference cascade is (its stages are frozen). Then there
    is nothing to synchronise: the wrapper only holds the module, and
    ``val_step``/``test_step`` run it as mmengine's wrapper does. A cascade
    with a trainable part is wrapped by DDP as usual.

    Args:
        module (nn.Module): The model.
        **kwargs: Passed to ``MMDistributedDataParallel``.
    """

    def __init__(self, module: nn.Module, **kwargs):
        if any(p.requires_grad for p in module.parameters()):
            super().__init__(module=module, **kwargs)
        else:
            nn.Module.__init__(self)
            self.module = module
