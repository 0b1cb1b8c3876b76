"""A small random-weight RTMDet (BN, CPU) and raw detection batches, for tests."""
from typing import List, Tuple

import torch

__all__ = ['rtmdet_cfg', 'det_batch']


def rtmdet_cfg(widen: float = 0.125, num_classes: int = 3, channels: int = 32) -> dict:
    """An mmdet ``RTMDet`` model dict of CSPNeXt width ``widen`` (random weights)."""
    return dict(
        type='RTMDet',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[30.0] * 3, std=[60.0] * 3,
                               bgr_to_rgb=False, pad_size_divisor=32),
        backbone=dict(type='CSPNeXt', arch='P5', expand_ratio=0.5, deepen_factor=0.167,
                      widen_factor=widen, channel_attention=True, norm_cfg=dict(type='BN'),
                      act_cfg=dict(type='SiLU', inplace=True)),
        neck=dict(type='CSPNeXtPAFPN', in_channels=[int(256 * widen), int(512 * widen),
                                                    int(1024 * widen)],
                  out_channels=channels, num_csp_blocks=1, expand_ratio=0.5,
                  norm_cfg=dict(type='BN'), act_cfg=dict(type='SiLU', inplace=True)),
        bbox_head=dict(type='RTMDetSepBNHead', num_classes=num_classes, in_channels=channels,
                       stacked_convs=1, feat_channels=channels,
                       anchor_generator=dict(type='MlvlPointGenerator', offset=0,
                                             strides=[8, 16, 32]),
                       bbox_coder=dict(type='DistancePointBBoxCoder'),
                       loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                                     loss_weight=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
                       with_objectness=False, exp_on_reg=False, share_conv=True,
                       pred_kernel_size=1, norm_cfg=dict(type='BN'),
                       act_cfg=dict(type='SiLU', inplace=True)),
        train_cfg=dict(assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=-1, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.65), max_per_img=20))


def det_batch(n: int = 6, size: Tuple[int, int] = (96, 96), seed: int = 0
              ) -> Tuple[List[torch.Tensor], list]:
    """``n`` random uint8 images (3, H, W) and their ``DetDataSample``s."""
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(seed)
    imgs = [torch.randint(0, 256, (3, *size), generator=g, dtype=torch.uint8) for _ in range(n)]
    samples = [DetDataSample(metainfo=dict(img_id=i, ori_shape=size, img_shape=size,
                                           scale_factor=(1.0, 1.0))) for i in range(n)]
    return imgs, samples
