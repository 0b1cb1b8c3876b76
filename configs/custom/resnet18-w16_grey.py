# Base for your own grey image folder: the Fashion-MNIST zoo's ResNet-18 (CIFAR stem,
# 16 channels), trained from scratch on _base_/image_folder.py's splits. Train and publish:
#   python tools/train.py configs/custom/resnet18-w16_grey.py \
#       --publish checkpoints/custom/resnet18-w16_grey.pth
# (the best epoch on the val split is published; the holdout is left for calibration)
_base_ = [
    '../_base_/models/resnet18_fmnist.py',
    './_base_/image_folder.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(in_channels={{_base_.in_channels}}),
             head=dict(num_classes={{_base_.num_classes}}))
