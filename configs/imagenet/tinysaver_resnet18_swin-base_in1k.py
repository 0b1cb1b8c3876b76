# TinySaver on ImageNet-1k: ResNet-18 saver in front of a Swin-B base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models the test pipeline below (Swin's: short edge 256 bicubic, centre crop 224).
# threshold=0.8 is a starting point, not calibrated for this pair: record both
# models on your data and calibrate it before relying on the accuracy.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='TinySaverClassifier',
    saver=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'),
    base=dict(
        cfg_path='mmpretrain::swin_transformer/swin-base_16xb64_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_base_224_b16x64_300e_imagenet_20210616_190742-93230b0d.pth'),
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
