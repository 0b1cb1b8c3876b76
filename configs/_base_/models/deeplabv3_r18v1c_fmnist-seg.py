# DeepLabV3 (ASPP head) on the ResNetV1c-18 of fcn_r18v1c_fmnist-seg.py, for the
# Fashion-MNIST segmentation set. Widths, stages and strides are set per model.
_base_ = './fcn_r18v1c_fmnist-seg.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ASPPHead',
        in_channels=128,
        in_index=3,
        channels=64,
        dilations=(1, 3, 6, 9),
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
