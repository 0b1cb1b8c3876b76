# The embedded detection cascade with a dataloader over the detectors' own training
# images (0..2999 of the train split), only to record the saver and base there for the
# evaluator head (tools/record_det_views.py --split train --flip random: the recording
# augmentation is the detectors' RandomFlip(prob=0.5)). Both detectors are better on
# these images than on images they never saw; see tools/det_exit_study.sh.
_base_ = ['./tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py']
train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root='data/fmnist_det/',
        metainfo={{_base_.metainfo}},
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        indices=list(range(3000)),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
