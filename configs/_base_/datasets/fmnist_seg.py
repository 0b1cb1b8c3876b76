# Fashion-MNIST glyphs on 96x96 canvases, 11 classes (0 background, 1..10 garments)
# (bash tools/make_fmnist_seg.sh: python tools/make_fmnist_seg.py --train 6000
# --holdout 1000 --val 1000). train trains the segmentors; holdout (other
# canvases of training glyphs, never seen by the segmentors) trains and
# calibrates the evaluator; val (glyphs from the t10k files): every reported figure.
dataset_type = 'FashionMNISTSegDataset'
data_root = 'data/fmnist_seg/'
img_scale = (96, 96)  # every canvas has this size: no resize needed
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train/img', seg_map_path='train/ann'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val/img', seg_map_path='val/ann'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# images the segmentors never saw in training (for the evaluator head)
holdout_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_prefix=dict(img_path='holdout/img', seg_map_path='holdout/ann')))

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
