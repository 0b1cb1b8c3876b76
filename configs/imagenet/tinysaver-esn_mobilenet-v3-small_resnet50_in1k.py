# Exit Sequence Network on ImageNet-1k: MobileNet-V3-small saver (exit 0), exits after
# ResNet-50's first three stages fed by the saver's token, ResNet-50's own head last.
# Saver and base from the mmpretrain model zoo (downloaded on first use; needs internet).
# The exits are NOT trained (no checkpoint ships: training needs ImageNet), so their
# thresholds are above 1 (off) and the config routes as the plain cascade. Train them
# (only the exits train; each checkpoint holds the exits alone, bound to this saver and base):
#   python tools/train.py configs/imagenet/tinysaver-esn_mobilenet-v3-small_resnet50_in1k.py
# then record and calibrate on held-out images (docs/en/user_guides/esn.md) and set
# model.exits.checkpoint and model.threshold=[t_saver, t_exit1, t_exit2, t_exit3].
_base_ = [
    './tinysaver_mobilenet-v3-small_resnet50_in1k.py',
    '../_base_/schedules/esn_adamw.py',
]
model = dict(
    type='TinySaverESN',
    exits=dict(dim=256, num_attn_layers=2, num_heads=4, after=[0, 1, 2], saver_token=True,
               checkpoint=None),
    threshold=[0.8, 1.01, 1.01, 1.01])
train_dataloader = dict(
    _delete_=True,  # the cascade config has none
    batch_size=64,
    num_workers=5,
    dataset=dict(type={{_base_.dataset_type}}, data_root='data/imagenet', split='train',
                 pipeline={{_base_.train_pipeline}}),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
custom_hooks = [dict(type='TinySaverMACsHook'), dict(type='TinySaverPartCheckpointHook')]
default_hooks = dict(checkpoint=dict(save_best=None))
