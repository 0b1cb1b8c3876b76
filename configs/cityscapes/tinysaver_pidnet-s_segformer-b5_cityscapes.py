# TinySaver segmentation on Cityscapes (needs internet for the model-zoo weights and
# Cityscapes in data/cityscapes/): the PIDNet-S saver of the PIDNet-L pair (whole
# image, align_corners=True, 78.74 mIoU, 47.5 GMACs at 1024x2048) saves for
# SegFormer-B5 (slide inference: 1024x1024 crops at stride 768, 3 crops per image,
# 82.25 mIoU, about 1260 GMACs). Each keeps its own test_cfg; masks of both come back
# at the original size. The inherited threshold=0.9 is not calibrated for this pair.
_base_ = './tinysaver_pidnet-s_pidnet-l_cityscapes.py'
model = dict(
    base=dict(
        _delete_=True,
        cfg_path='mmseg::segformer/segformer_mit-b5_8xb1-160k_cityscapes-1024x1024.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_8x1_1024x1024_160k_cityscapes/segformer_mit-b5_8x1_1024x1024_160k_cityscapes_20211206_072934-87a052ec.pth'))
