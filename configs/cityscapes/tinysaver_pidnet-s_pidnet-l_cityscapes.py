# TinySaver segmentation on Cityscapes (needs internet for the model-zoo weights and
# Cityscapes in data/cityscapes/): PIDNet-S (78.74 mIoU, 47.5 GMACs at 1024x2048)
# saves for PIDNet-L (80.89 mIoU, 275.7 GMACs); both whole-image inference with
# align_corners=True, and the same preprocessing. The inherited threshold=0.9 is not
# calibrated for this pair.
_base_ = '../_base_/cascades/cityscapes_seg_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes/pidnet-s_2xb6-120k_1024x1024-cityscapes_20230302_191700-bb8e3bcc.pth'),
    base=dict(
        cfg_path='mmseg::pidnet/pidnet-l_2xb6-120k_1024x1024-cityscapes.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pidnet/pidnet-l_2xb6-120k_1024x1024-cityscapes/pidnet-l_2xb6-120k_1024x1024-cityscapes_20230303_114514-0783ca6b.pth'))
