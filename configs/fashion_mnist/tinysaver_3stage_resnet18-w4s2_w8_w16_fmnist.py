# A three-stage TinySaver cascade on Fashion-MNIST: the 4-channel saver, then
# the 8-channel mid model, then the 16-channel base. The thresholds are the
# joint search on the held-out training images written by
# tools/fashion_mnist_reports.sh (results/multistage_fashion_mnist.json).
_base_ = ['./tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py']
model = dict(
    mids=[dict(
        cfg_path='{{fileDirname}}/resnet18-w8_fmnist.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fashion_mnist/resnet18-w8_fmnist.pth')],
    threshold=[0.8595097661018372, 0.4986559756100178])
