# ImageNet-1k cascades evaluated through mmpretrain's imagenet_bs64_swin_224.py data set:
# the cascade feeds both models Swin's test pipeline (short edge 256 bicubic, centre crop 224).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py', './imagenet_cascade.py']
test_evaluator = [dict(type='Accuracy', topk=(1, 5)), dict(type='TinySaverMetric')]
val_evaluator = test_evaluator
train_dataloader = None  # inference only
