# TinySaver segmentation on the Fashion-MNIST segmentation set (the embedded
# default): the FCN saver (1/8-width ResNetV1c-18) segments every canvas, a learned
# evaluator head reads its per-pixel probabilities and decides whether its masks are
# final, the DeepLabV3 base segments the other canvases.
# Models: bash tools/train_seg_zoo.sh; evaluator: bash tools/train_seg_evaluator.sh
# (checkpoints/fmnist_seg/). threshold=None takes the threshold the evaluator was
# calibrated to on held-out canvases (max dataset-level mIoU drop 0.01 there).
# Evaluate: python tools/test.py configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py
_base_ = ['../_base_/datasets/fmnist_seg.py', '../_base_/cascades/seg_cascade.py']
custom_imports = dict(imports=['tinysaver_mm', 'tinysaver_mm.datasets'],
                      allow_failed_imports=False)
model = dict(
    type='TinySaverSegmentor',
    saver=dict(
        cfg_path='{{fileDirname}}/fcn_r18v1c-w8_fmnist-seg.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_seg/fcn_r18v1c-w8_fmnist-seg.pth'),
    base=dict(
        cfg_path='{{fileDirname}}/deeplabv3_r18v1c-w32-os4_fmnist-seg.py',
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_seg/'
        'deeplabv3_r18v1c-w32-os4_fmnist-seg.pth'),
    evaluator=dict(
        type='TinySaverSegEvaluatorHead', num_classes=11, hidden_channels=32,
        checkpoint='{{fileDirname}}/../../checkpoints/fmnist_seg/'
        'evaluator_fcn_r18v1c-w8_fmnist-seg.pth'),
    exit_rule='evaluator',
    threshold=None)
# one evaluator dict (host tools set keys on it: mmseg's tools/test.py --out DIR gives
# output_dir to its first metric, IoUMetric, which writes the masks there as PNGs)
test_evaluator = dict(type='TinySaverEvaluator',
                      metrics=[dict(type='IoUMetric', iou_metrics=['mIoU']),
                               dict(type='TinySaverMetric')])
val_evaluator = test_evaluator
