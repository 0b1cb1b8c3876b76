# Base of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 16 base channels. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w16_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
_base_ = [
    '../_base_/models/resnet18_fmnist.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
