# Saver detector of the embedded detection demo: RTMDet at a third of the
# base's width, on images downscaled to 64x64 (so small objects are hard for it).
# rtmdet-w125_96px_fmnist-det.py with the other resize:
_base_ = './rtmdet-w125_96px_fmnist-det.py'
img_scale = (64, 64)
# the pipelines were built with the 96px scale: swap it in their Resize steps
train_pipeline = [dict(t, scale=img_scale) if t.type == 'Resize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
holdout_dataloader = dict(dataset=dict(pipeline=test_pipeline))
