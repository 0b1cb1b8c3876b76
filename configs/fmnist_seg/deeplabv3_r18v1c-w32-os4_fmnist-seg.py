# Base segmentor of the embedded segmentation demo: DeepLabV3 (ASPP head) on the
# first three stages of a ResNetV1c-18 at half the usual width, output stride 4
# (the saver: 1/8 width, output stride 8).
# Train: python tools/train.py configs/fmnist_seg/deeplabv3_r18v1c-w32-os4_fmnist-seg.py
# Shipped: checkpoints/fmnist_seg/deeplabv3_r18v1c-w32-os4_fmnist-seg.pth from
# `bash tools/train_seg_zoo.sh deeplabv3_r18v1c-w32-os4` (OMP_NUM_THREADS=1): 8 epochs
# (3000 iters, batch 16), 46.5 min on the shared, loaded 2-core machine, val mIoU 54.06
# (IoUMetric), 0.5103 GMACs per 96x96 image = 16.8x the saver (checkpoints/fmnist_seg/zoo.json).
_base_ = [
    '../_base_/models/deeplabv3_r18v1c_fmnist-seg.py', '../_base_/datasets/fmnist_seg.py',
    '../_base_/schedules/fmnist_seg_adamw.py', '../_base_/seg_runtime.py'
]
model = dict(
    backbone=dict(stem_channels=32, base_channels=32, num_stages=3, out_indices=(0, 1, 2),
                  dilations=(1, 1, 1), strides=(1, 1, 1)),
    decode_head=dict(in_channels=128, in_index=2, channels=32))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=2e-5, begin=0, end=max_epochs,
         T_max=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
