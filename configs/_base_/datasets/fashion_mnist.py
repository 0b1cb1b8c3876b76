# Fashion-MNIST from Debian's dataset-fashion-mnist, decompressed into
# data/fashion_mnist by tools/install.sh. The 60k training split is cut in two:
# images 0..54999 train the models, images 55000..59999 (the "holdout" split)
# calibrate the cascade's threshold; the val loop reports on them too, but the
# zoo keeps its last epoch, so no checkpoint is picked there. The 10k test split
# is only used for the final figures. Splits: utils.SPLITS (docs/en/user_guides/own_data.md).
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist'
num_train = 55000

# Fashion-MNIST's own mean/std, in [0, 255], over the whole 60k training file (images
# 0..54999 alone: 72.88/90.00, python tools/dataset_stats.py on a zoo config). Not for
# other data: an image folder of your own starts from configs/custom/ (docs/en/user_guides/own_data.md).
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02])

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 download=False, indices=num_train, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
holdout_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 download=False, indices=range(num_train, 60000),
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_dataloader = holdout_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = dict(
    batch_size=256,
    num_workers=2,
    # mmpretrain 1.2.0 reads the test files only with test_mode=True
    # (split='test' alone silently loads the training files)
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 test_mode=True, download=False, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = dict(type='Accuracy', topk=(1, ))
