# Cityscapes cascades through mmseg's cityscapes_1024x1024.py data set (val, 500
# images, all 1024x2048; test pipeline: Resize(2048, 1024) keep_ratio, a no-op at the
# native size), shared by every Cityscapes model of mmseg's zoo: images of one size,
# so batches route as real batches. mIoU by mmseg's IoUMetric (areas summed over the
# data set) and the cascade's exit ratio and MACs by TinySaverMetric, in one evaluator
# dict (mmseg's tools/test.py --out DIR sets output_dir on it: IoUMetric's PNGs).
_base_ = ['mmseg::_base_/datasets/cityscapes_1024x1024.py', './seg_cascade.py']
test_evaluator = dict(type='TinySaverEvaluator',
                      metrics=[dict(type='IoUMetric', iou_metrics=['mIoU']),
                               dict(type='TinySaverMetric')])
val_evaluator = test_evaluator
