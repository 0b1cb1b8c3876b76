# Saver of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 4 base channels, first stage at stride 2. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w4s2_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
# the zoo base's config (data, schedule, runtime, ResNet-18), narrower:
_base_ = './resnet18-w16_fmnist.py'
model = dict(
    backbone=dict(stem_channels=4, base_channels=4, strides=(2, 2, 2, 2)),
    head=dict(in_channels=32))
