# Your own image-folder dataset, colour images (3 channels, RGB): the grey base's layout
# and splits (see image_folder.py) with colour loading. Edit data_root, num_classes,
# image_size and mean/std (tools/dataset_stats.py prints them; these are ImageNet's,
# a placeholder only).
_base_ = './image_folder.py'
image_size = 32
in_channels = 3
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
holdout_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
