# Mid model of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 8 base channels. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w8_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
_base_ = [
    '../_base_/models/resnet18_fmnist.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(stem_channels=8, base_channels=8, strides=(1, 2, 2, 2)),
    head=dict(in_channels=64))
