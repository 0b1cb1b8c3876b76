# Your own image-folder dataset (mmpretrain's CustomDataset folder layout), grey images:
#   data/my_images/train/<class>/*.png    trains the models
#   data/my_images/val/<class>/*.png      picks the best checkpoint (tools/train.py, every epoch)
#   data/my_images/holdout/<class>/*.png  calibrates the cascade (tools/record.py --split holdout)
#   data/my_images/test/<class>/*.png     the figures (tools/test.py)
# Class names are the sub-folder names (sorted); the four splits must have the same ones.
# Edit data_root, num_classes, image_size and mean/std for your data: mean/std are what
#   python tools/dataset_stats.py configs/custom/resnet18-w4s2_grey.py
# prints (per channel, in [0, 255], over the training split). The values below are
# Fashion-MNIST's, a placeholder only. Colour images: image_folder_color.py (and the *_color.py configs).
dataset_type = 'CustomDataset'
data_root = 'data/my_images'
num_classes = 10
image_size = 28          # every image is resized to image_size x image_size
in_channels = 1          # grey: LoadImageFromFile(color_type='grayscale') below
data_preprocessor = dict(num_classes=num_classes, mean=[72.94], std=[90.02])

train_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
holdout_dataloader = dict(val_dataloader,
                          dataset=dict(val_dataloader['dataset'], data_prefix='holdout'))
test_dataloader = dict(val_dataloader,
                       dataset=dict(val_dataloader['dataset'], data_prefix='test'))
test_evaluator = val_evaluator
