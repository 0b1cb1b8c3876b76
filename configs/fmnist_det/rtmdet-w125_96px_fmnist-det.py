# Saver detector of the embedded detection demo: RTMDet at a third of the
# base's width, on images downscaled to 96x96 (so small objects are harder for it).
_base_ = [
    '../_base_/models/rtmdet_fmnist.py', '../_base_/datasets/fmnist_det.py',
    '../_base_/schedules/fmnist_det_adamw.py', '../_base_/det_runtime.py'
]
img_scale = (96, 96)
model = dict(
    backbone=dict(widen_factor=0.125),
    neck=dict(in_channels=[32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
holdout_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# the saver is cheap to train: twice the base's epochs
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=2e-5, begin=0, end=max_epochs,
         T_max=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
