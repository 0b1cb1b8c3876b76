# TinySaver on ImageNet-1k: MobileNet-V2 saver in front of a ConvNeXt-B base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models the test pipeline below (short edge 256 bicubic, centre crop 224).
# threshold=0.8 is a starting point, not calibrated for this pair: record both
# models on your data and calibrate it before relying on the accuracy.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='TinySaverClassifier',
    saver=dict(
        cfg_path='mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'),
    base=dict(
        cfg_path='mmpretrain::convnext/convnext-base_32xb128_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/convnext/convnext-base_32xb128_in1k_20221207-fbdb5eb9.pth'),
    threshold=0.8,
    exit_rule='max_prob')
test_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='TinySaverMetric'),
]
val_evaluator = test_evaluator
custom_hooks = [dict(type='TinySaverMACsHook')]
# The cascade is for inference: train the saver and the base separately.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
