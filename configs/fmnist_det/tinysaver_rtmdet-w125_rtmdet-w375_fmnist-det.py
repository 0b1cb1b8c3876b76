# TinySaver detection on the Fashion-MNIST detection set (the embedded default):
# the small RTMDet saver works on 96x96 downscaled images; a learned evaluator
# head reads its detections and decides whether they
# are final; the RTMDet base (128x128) detects the other images.
# Models: bash tools/train_det_zoo.sh (checkpoints/fmnist_det/). Evaluate:
#   python tools/test.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py
# The threshold is what tools/train_evaluator.py calibrated on held-out training
# images (max box-mAP drop 0.01 there); re-run it after retraining any model.
_base_ = [
    '../_base_/datasets/fmnist_det.py', '../_base_/det_runtime.py',
    '../_base_/cascades/inference_runtime.py', '../_base_/cascades/inference_only.py'
]
model = dict(
    type='TinySaverDetector',
    saver=dict(
        cfg_path='{{fileDirname}}/rtmdet-w125_96px_fmnist-det.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_det/rtmdet-w125_96px_fmnist-det.pth',
        # the saver's own resize, on top of the cascade's test pipeline
        pipeline=[dict(type='Resize', scale=(96, 96), keep_ratio=True)]),
    base=dict(
        cfg_path='{{fileDirname}}/rtmdet-w375_128px_fmnist-det.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_det/rtmdet-w375_128px_fmnist-det.pth'),
    evaluator=dict(
        type='TinySaverEvaluatorHead', num_classes=10, topk=10, feat_channels=0,
        hidden_channels=32,
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_det/evaluator_rtmdet-w125_96px_fmnist-det.pth'),
    exit_rule='evaluator',
    threshold=0.5698603987693787,
    # no backbone of its own (the stages have theirs); mmdet's init_detector reads this key
    backbone=dict())
test_evaluator = [
    dict(type='CocoMetric', ann_file='data/fmnist_det/annotations/instances_val.json',
         metric='bbox'),
    dict(type='TinySaverMetric'),
]
val_evaluator = test_evaluator
