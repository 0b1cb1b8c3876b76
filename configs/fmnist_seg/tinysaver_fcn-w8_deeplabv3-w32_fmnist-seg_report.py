# The embedded segmentation demo: the cascade of
# tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py, plus a report comparing exit policies
# (mean max-prob, low quantile, entropy, the learned evaluator, the oracle), each at
# the threshold tools/train_evaluator.py calibrated on held-out canvases
# (results/evaluator_fmnist_seg.json) and at the cascade's own mIoU drop.
# report=True also runs the base on the canvases that exited (only for the
# comparison: predictions, exit ratio and MACs stay the routed cascade's).
#   python tools/test.py configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg_report.py
# writes results/demo_seg.json and results/demo_seg.png.
_base_ = ['./tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py']
model = dict(report=True)
test_evaluator = dict(
    type='TinySaverEvaluator',
    metrics=[
        dict(type='IoUMetric', iou_metrics=['mIoU']),
        dict(type='TinySaverMetric'),
        dict(type='TinySaverSegReport', policies='results/evaluator_fmnist_seg.json',
             out_file='results/demo_seg.json'),
    ])
val_evaluator = test_evaluator
