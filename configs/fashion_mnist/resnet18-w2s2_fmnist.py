# Candidate saver of the Fashion-MNIST zoo: ResNet-18 (CIFAR stem), 2 base channels, first stage at stride 2. Reproduce:
#   python tools/train.py configs/fashion_mnist/resnet18-w2s2_fmnist.py
# (tools/train_zoo.sh trains the whole zoo and publishes checkpoints/fashion_mnist/)
# the zoo base's config (data, schedule, runtime, ResNet-18), narrower:
_base_ = './resnet18-w16_fmnist.py'
model = dict(
    backbone=dict(stem_channels=2, base_channels=2, strides=(2, 2, 2, 2)),
    head=dict(in_channels=16))
