# TinySaver detection on COCO (needs internet for the model-zoo weights and COCO in
# data/coco/): RTMDet-tiny saves for RTMDet-l; both share RTMDet's test pipeline
# (640x640), so neither detector needs a pipeline of its own.
# Exit rule: the saver's max detection score until you train an evaluator for it:
#   python tools/record.py THIS_CONFIG --split train \
#       --cfg-options train_dataloader.dataset.indices=5000
#   python tools/train_evaluator.py records/<...>_train_det.npz --out evaluator.pth
# then set model.evaluator=dict(type='TinySaverEvaluatorHead', num_classes=80,
# feat_channels=288, checkpoint='evaluator.pth') and model.exit_rule='evaluator',
# with the threshold it prints.
_base_ = 'mmdet::rtmdet/rtmdet_l_8xb32-300e_coco.py'
custom_imports = dict(imports=['tinysaver_mm'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='TinySaverDetector',
    saver=dict(
        cfg_path='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_tiny_8xb32-300e_coco/rtmdet_tiny_8xb32-300e_coco_20220902_112414-78e30dcc.pth'),
    base=dict(
        cfg_path='mmdet::rtmdet/rtmdet_l_8xb32-300e_coco.py',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_l_8xb32-300e_coco/rtmdet_l_8xb32-300e_coco_20220719_112030-5a0be7c4.pth'),
    exit_rule='max_score',
    threshold=0.5,
    backbone=dict())  # none of its own; mmdet's init_detector reads this key
test_evaluator = [
    dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val2017.json',
         metric='bbox', format_only=False),
    dict(type='TinySaverMetric'),
]
val_evaluator = test_evaluator
custom_hooks = [dict(type='TinySaverMACsHook')]
# inference only: the base's COCO training data stays (browse_dataset.py, analyze_results.py
# read it); the loop refuses training, naming the stage configs to train instead
train_cfg = dict(_delete_=True, type='TinySaverInferenceOnlyLoop')
optim_wrapper = dict(_delete_=True)  # never built: the loop refuses first
param_scheduler = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
