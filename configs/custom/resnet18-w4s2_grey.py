# Saver for your own grey image folder: the Fashion-MNIST zoo's saver (ResNet-18,
# 4 channels, first stage at stride 2). Train and publish:
#   python tools/train.py configs/custom/resnet18-w4s2_grey.py \
#       --publish checkpoints/custom/resnet18-w4s2_grey.pth
_base_ = './resnet18-w16_grey.py'
model = dict(
    backbone=dict(stem_channels=4, base_channels=4, strides=(2, 2, 2, 2)),
    head=dict(in_channels=32))
