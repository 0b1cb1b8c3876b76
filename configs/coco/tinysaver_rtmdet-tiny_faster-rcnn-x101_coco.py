# A pair with different test pipelines on COCO: RTMDet-tiny (640x640 letterbox,
# 41.1 box AP) saving for Faster R-CNN X-101-64x4d FPN (1333x800, 42.1 box AP).
# The cascade's dataloader loads images at their original size; each detector
# applies its own resize (pipeline=...) and its own data preprocessor (RTMDet
# BGR, Faster R-CNN RGB); boxes come back in original image coordinates.
# Note that on COCO this saver is nearly as accurate as this base: the pair
# mainly shows per-branch preprocessing; see the RTMDet-l/x pairs for savings.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py'
custom_imports = dict(imports=['tinysaver_mm'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='TinySaverDetector',
    saver=dict(
        cfg_path='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_tiny_8xb32-300e_coco/rtmdet_tiny_8xb32-300e_coco_20220902_112414-78e30dcc.pth',
        pipeline=[
            dict(type='Resize', scale=(640, 640), keep_ratio=True),
            dict(type='Pad', size=(640, 640), pad_val=dict(img=(114, 114, 114))),
        ]),
    base=dict(
        cfg_path='mmdet::faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py',
        checkpoint='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_x101_64x4d_fpn_1x_coco/faster_rcnn_x101_64x4d_fpn_1x_coco_20200204-833ee192.pth',
        pipeline=[dict(type='Resize', scale=(1333, 800), keep_ratio=True)]),
    exit_rule='max_score',
    threshold=0.5,
    backbone=dict())  # none of its own; mmdet's init_detector reads this key
# images reach the cascade at their original size
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
test_evaluator = [
    dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val2017.json',
         metric='bbox', format_only=False),
    dict(type='TinySaverMetric'),
]
val_evaluator = test_evaluator
custom_hooks = [dict(type='TinySaverMACsHook')]
# inference only: the base's COCO training data stays (browse_dataset.py, analyze_results.py
# read it); the loop refuses training, naming the stage configs to train instead
train_cfg = dict(_delete_=True, type='TinySaverInferenceOnlyLoop')
optim_wrapper = dict(_delete_=True)  # never built: the loop refuses first
param_scheduler = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
