# Runtime shared by this project's segmentation configs: default_runtime.py
# (CPU-friendly) in mmseg's scope, with mmseg's visualizer and the dataset
# class of the embedded set (tinysaver_mm.datasets registers it into mmseg).
_base_ = './default_runtime.py'
default_scope = 'mmseg'
custom_imports = dict(imports=['tinysaver_mm', 'tinysaver_mm.datasets'],
                      allow_failed_imports=False)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(_delete_=True, type='CheckpointHook', interval=1, max_keep_ckpts=1),
    visualization=dict(_delete_=True, type='SegVisualizationHook'),
)
visualizer = dict(_delete_=True, type='SegLocalVisualizer', name='visualizer',
                  vis_backends=[dict(type='LocalVisBackend')])
log_processor = dict(window_size=50, by_epoch=True)
