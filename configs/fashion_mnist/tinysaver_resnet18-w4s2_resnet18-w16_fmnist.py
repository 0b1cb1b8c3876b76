# TinySaver on Fashion-MNIST (the embedded default): the 4-channel ResNet-18
# saver answers the images it is sure of; the 16-channel ResNet-18 base the rest.
# Both are trained by this project's configs (tools/train_zoo.sh) and shipped in
# checkpoints/fashion_mnist/. Evaluate:
#   python tools/test.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
# The threshold below is what tools/demo_fashion_mnist.py calibrates on the
# held-out training images (max top-1 drop 0.1 points there); re-calibrate with
# that tool after retraining either model.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    '../_base_/cascades/inference_runtime.py',
    '../_base_/cascades/inference_only.py',
]
model = dict(
    type='TinySaverClassifier',
    saver=dict(
        cfg_path='{{fileDirname}}/resnet18-w4s2_fmnist.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fashion_mnist/resnet18-w4s2_fmnist.pth'),
    base=dict(
        cfg_path='{{fileDirname}}/resnet18-w16_fmnist.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fashion_mnist/resnet18-w16_fmnist.pth'),
    threshold=0.8673829436302185,
    exit_rule='max_prob')
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='TinySaverMetric'),
]
val_evaluator = test_evaluator
# The cascade is for inference: it keeps the stages' training data as train_dataloader
# (the data set base's: what browse_dataset.py shows), and its train loop refuses
# training, naming the saver's and the base's configs to train instead.
