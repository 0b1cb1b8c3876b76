# Saver for your own colour image folder: as resnet18-w4s2_grey.py, 3 input channels.
#   python tools/train.py configs/custom/resnet18-w4s2_color.py \
#       --publish checkpoints/custom/resnet18-w4s2_color.pth
_base_ = './resnet18-w16_color.py'
model = dict(
    backbone=dict(stem_channels=4, base_channels=4, strides=(2, 2, 2, 2)),
    head=dict(in_channels=32))
