# Mid model of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 8 base channels. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w8_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
# the zoo base's config (data, schedule, runtime, ResNet-18), narrower:
_base_ = './resnet18-w16_fmnist.py'
model = dict(
    backbone=dict(stem_channels=8, base_channels=8, strides=(1, 2, 2, 2)),
    head=dict(in_channels=64))
