# TinySaver on your own grey image folder: the saver and base trained by
# resnet18-w4s2_grey.py / resnet18-w16_grey.py and published to checkpoints/custom/.
# The threshold below is a starting point, not calibrated for your data: record the
# holdout, calibrate, then test with the calibration JSON (docs/en/user_guides/own_data.md):
#   python tools/record.py configs/custom/tinysaver_resnet18-w4s2_resnet18-w16_grey.py --split holdout
#   python tools/calibrate.py records/<config>_holdout_saver.npz records/<config>_holdout_base.npz \
#       --target drop --epsilon 0.005 --out work_dirs/custom/calibration.json
#   python tools/test.py configs/custom/tinysaver_resnet18-w4s2_resnet18-w16_grey.py \
#       --cfg-options model.threshold=work_dirs/custom/calibration.json
_base_ = [
    './_base_/image_folder.py',
    '../_base_/default_runtime.py',
    '../_base_/cascades/inference_runtime.py',
    '../_base_/cascades/inference_only.py',
]
model = dict(
    type='TinySaverClassifier',
    saver=dict(cfg_path='{{fileDirname}}/resnet18-w4s2_grey.py',
               checkpoint='checkpoints/custom/resnet18-w4s2_grey.pth'),
    base=dict(cfg_path='{{fileDirname}}/resnet18-w16_grey.py',
              checkpoint='checkpoints/custom/resnet18-w16_grey.pth'),
    threshold=0.8,
    exit_rule='max_prob')
test_evaluator = [dict(type='Accuracy', topk=(1, )), dict(type='TinySaverMetric')]
val_evaluator = test_evaluator
# inference only: the training data stays (browse_dataset.py shows it), the train loop
# refuses training and names the saver's and the base's configs to train instead
