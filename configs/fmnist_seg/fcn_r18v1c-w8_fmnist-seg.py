# Saver segmentor of the embedded segmentation demo: FCN on a ResNetV1c-18 at
# 1/8 of the usual width (output stride 8).
# Train: python tools/train.py configs/fmnist_seg/fcn_r18v1c-w8_fmnist-seg.py
# Shipped: checkpoints/fmnist_seg/fcn_r18v1c-w8_fmnist-seg.pth from
# `bash tools/train_seg_zoo.sh fcn_r18v1c-w8` (OMP_NUM_THREADS=1): 20 epochs (7500 iters,
# batch 16), 32.0 min on the shared 2-core machine, val mIoU 48.55 (IoUMetric),
# 0.0303 GMACs per 96x96 image (checkpoints/fmnist_seg/zoo.json).
_base_ = [
    '../_base_/models/fcn_r18v1c_fmnist-seg.py', '../_base_/datasets/fmnist_seg.py',
    '../_base_/schedules/fmnist_seg_adamw.py', '../_base_/seg_runtime.py'
]
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=32))
# the saver is cheap to train: more epochs than the base
max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=2e-5, begin=0, end=max_epochs,
         T_max=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
