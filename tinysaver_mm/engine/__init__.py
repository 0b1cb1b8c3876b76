"""Engine components (hooks, distributed wrapper, inference-only loop) of tinysaver_mm."""
from .hooks import TinySaverDriftHook, TinySaverMACsHook, TinySaverPartCheckpointHook
from .inference_only_loop import TinySaverInferenceOnlyLoop
from .model_wrapper import TinySaverDistributedDataParallel

__all__ = ['TinySaverDriftHook', 'TinySaverMACsHook', 'TinySaverPartCheckpointHook',
           'TinySaverDistributedDataParallel', 'TinySaverInferenceOnlyLoop']
