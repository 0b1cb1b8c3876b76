# Base for your own colour image folder (3 channels): as resnet18-w16_grey.py, on
# _base_/image_folder_color.py. Train and publish:
#   python tools/train.py configs/custom/resnet18-w16_color.py \
#       --publish checkpoints/custom/resnet18-w16_color.pth
_base_ = [
    '../_base_/models/resnet18_fmnist.py',
    './_base_/image_folder_color.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(in_channels={{_base_.in_channels}}),
             head=dict(num_classes={{_base_.num_classes}}))
