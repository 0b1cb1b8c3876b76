# TinySaver on Fashion-MNIST with a saver chosen for CPU wall time: the 3-layer
# TinyConvNet (0.56 MMACs, about the 4-channel ResNet-18's) runs ~3x faster on a
# CPU than that thin 21-layer net, so the MACs it saves show up as time saved
# (results/benchmark_cpu.csv, tools/run_benchmark.sh). Evaluate:
#   python tools/test.py configs/fashion_mnist/tinysaver_convnet-c16-32-64_resnet18-w16_fmnist.py
# Threshold: tools/calibrate.py --target drop --epsilon 0.001 on the held-out
# training images (records of both models from tools/record.py --split holdout).
_base_ = ['./tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py']
model = dict(
    saver=dict(
        _delete_=True,
        cfg_path='{{fileDirname}}/convnet-c16-32-64_fmnist.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fashion_mnist/convnet-c16-32-64_fmnist.pth'),
    threshold=0.9072596430778503)
