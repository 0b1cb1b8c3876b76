# A saver of the Fashion-MNIST zoo that is cheap in wall time as well as in MACs:
# three 3x3 conv layers (16/32/64 channels, stride 2 each), 0.56 MMACs per image,
# about the MACs of resnet18-w4s2 but ~3x faster on a CPU (fewer, wider layers).
# Reproduce (also via tools/train_zoo.sh):
#   python tools/train.py configs/fashion_mnist/convnet-c16-32-64_fmnist.py
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_sgd.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='TinyConvNet', in_channels=1, channels=(16, 32, 64),
                  strides=(2, 2, 2)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
