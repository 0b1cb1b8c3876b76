# ADE20K cascades through mmseg's ade20k.py data set (val, 2000 images of varying
# size; the 512 test pipeline: Resize(2048, 512) keep_ratio, so the short side becomes
# 512; reduce_zero_label=True), shared by every ADE20K 512 model of mmseg's zoo (the
# 640 models use another pipeline). Images of different sizes in one batch run as one
# sub-batch per size. Evaluators as in cityscapes_seg_cascade.py.
_base_ = ['mmseg::_base_/datasets/ade20k.py', './seg_cascade.py']
test_evaluator = dict(type='TinySaverEvaluator',
                      metrics=[dict(type='IoUMetric', iou_metrics=['mIoU']),
                               dict(type='TinySaverMetric')])
val_evaluator = test_evaluator
