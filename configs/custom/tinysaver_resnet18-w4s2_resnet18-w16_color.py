# TinySaver on your own colour image folder: as the _grey cascade, with the _color
# stages (checkpoints/custom/resnet18-w4s2_color.pth, resnet18-w16_color.pth).
_base_ = [
    './_base_/image_folder_color.py',
    '../_base_/default_runtime.py',
    '../_base_/cascades/inference_runtime.py',
    '../_base_/cascades/inference_only.py',
]
model = dict(
    type='TinySaverClassifier',
    saver=dict(cfg_path='{{fileDirname}}/resnet18-w4s2_color.py',
               checkpoint='checkpoints/custom/resnet18-w4s2_color.pth'),
    base=dict(cfg_path='{{fileDirname}}/resnet18-w16_color.py',
              checkpoint='checkpoints/custom/resnet18-w16_color.pth'),
    threshold=0.8,
    exit_rule='max_prob')
test_evaluator = [dict(type='Accuracy', topk=(1, )), dict(type='TinySaverMetric')]
val_evaluator = test_evaluator
# inference only: the training data stays (browse_dataset.py shows it), the train loop
# refuses training and names the saver's and the base's configs to train instead
