# Base of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 16 base channels. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w16_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
_base_ = [
    '../_base_/models/resnet18_fmnist.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
# The zoo keeps its last epoch: no checkpoint is picked on the holdout (images
# 55000..59999), which calibrates the cascades; the val loop there only reports.
# (The shipped checkpoints are epoch 6 of 6 as well: their meta says so.)
default_hooks = dict(checkpoint=dict(save_best=None))
