# Shared by the semantic segmentation cascades of mmseg model-zoo pairs: this
# project's runtime in mmseg's scope (mmseg's visualiser and hook, iteration-based
# logs), the MACs hook, and the mean max-probability exit rule at threshold=0.9, a
# starting point that is not calibrated for any pair: calibrate it on your data
# before relying on the mIoU. The data set, its test pipeline and the evaluators
# come with cityscapes_seg_cascade.py or ade20k_seg_cascade.py (they override the
# mmseg data set base's keys, so they sit in its child, one per data set base).
_base_ = ['../default_runtime.py', './inference_runtime.py', './inference_only.py']
default_scope = 'mmseg'
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False),
    visualization=dict(_delete_=True, type='SegVisualizationHook'),
)
visualizer = dict(type='SegLocalVisualizer', name='visualizer')
log_processor = dict(by_epoch=False)
model = dict(type='TinySaverSegmentor', exit_rule='mean_max_prob', threshold=0.9)
