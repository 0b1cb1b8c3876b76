# Runtime shared by this project's detection configs: default_runtime.py
# (CPU-friendly) in mmdet's scope, with mmdet's visualizer and a log processor.
_base_ = './default_runtime.py'
default_scope = 'mmdet'

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(_delete_=True, type='CheckpointHook', interval=1, max_keep_ckpts=1),
    visualization=dict(_delete_=True, type='DetVisualizationHook'),
)
visualizer = dict(type='DetLocalVisualizer', name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
