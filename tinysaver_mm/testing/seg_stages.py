"""Small random-weight mmseg segmentors (BN, CPU) and raw segmentation batches, for tests."""
from typing import List, Optional, Sequence, Tuple

import torch

__all__ = ['fcn_cfg', 'seg_batch']


def fcn_cfg(base_channels: int = 4, num_classes: int = 4, mode: str = 'whole',
            crop_size: Sequence[int] = (32, 32), stride: Sequence[int] = (24, 24),
            mean: float = 120.0, std: float = 60.0, size_divisor: Optional[int] = None,
            out_channels: Optional[int] = None, align_corners: bool = False) -> dict:
    """An mmseg ``EncoderDecoder``: ResNetV1c-18 of width ``base_channels`` + ``FCNHead``.

    Args:
        base_channels (int): Width of the backbone's first stage.
        num_classes (int): Classes of the decode head.
        mode (str): ``test_cfg.mode``, ``'whole'`` or ``'slide'`` (with
            ``crop_size`` and ``stride``).
        mean, std (float): The preprocessor's normalisation (every channel).
        size_divisor (int, optional): Test-time padding of the preprocessor.
        out_channels (int, optional): The head's output channels (1 makes a
            binary head).
        align_corners (bool): The head's ``align_corners``.

    Returns:
        dict: The model config (random weights, no pretrained download).
    """
    test_cfg = dict(mode=mode)
    if mode == 'slide':
        test_cfg.update(crop_size=tuple(crop_size), stride=tuple(stride))
    head = dict(type='FCNHead', in_channels=8 * base_channels, channels=2 * base_channels,
                num_convs=1, concat_input=False, dropout_ratio=0.0, num_classes=num_classes,
                norm_cfg=dict(type='BN'), align_corners=align_corners,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=out_channels == 1))
    if out_channels is not None:
        head['out_channels'] = out_channels
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[mean] * 3, std=[std] * 3,
                               bgr_to_rgb=False, pad_val=0, seg_pad_val=255,
                               test_cfg=None if size_divisor is None
                               else dict(size_divisor=size_divisor)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=base_channels,
                      base_channels=base_channels, num_stages=4, out_indices=(3, ),
                      strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
                      norm_cfg=dict(type='BN'), norm_eval=False, contract_dilation=True),
        decode_head=head,
        train_cfg=dict(),
        test_cfg=test_cfg)


def seg_batch(n: int = 6, size: Tuple[int, int] = (48, 64), num_classes: int = 4,
              seed: int = 0) -> Tuple[List[torch.Tensor], list]:
    """``n`` random uint8 images (3, H, W) and ``SegDataSample``s with random labels.

    The labels are in ``[0, num_classes)`` with some 255 (ignored) pixels, at
    the original size, as mmseg's test pipeline loads them.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    imgs, samples = [], []
    for i in range(n):
        # smooth images: some regions are easy for a random net, so exit scores spread
        low = torch.randint(0, 256, (3, size[0] // 8 + 1, size[1] // 8 + 1), generator=g)
        img = torch.nn.functional.interpolate(low[None].float(), scale_factor=8,
                                              mode='bilinear')[0, :, :size[0], :size[1]]
        imgs.append(img.round().clamp(0, 255).to(torch.uint8))
        label = torch.randint(0, num_classes, (1, *size), generator=g)
        label[torch.rand((1, *size), generator=g) < 0.05] = 255
        samples.append(SegDataSample(
            metainfo=dict(img_path=f'img_{i}.png', ori_shape=size, img_shape=size,
                          pad_shape=size, reduce_zero_label=False),
            gt_sem_seg=PixelData(data=label)))
    return imgs, samples
