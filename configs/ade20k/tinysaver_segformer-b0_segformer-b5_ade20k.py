# TinySaver segmentation on ADE20K (needs internet for the model-zoo weights and
# ADE20K in data/ade/ADEChallengeData2016/): SegFormer-B0 (37.41 mIoU, 8.5 GMACs at
# 512x512) saves for SegFormer-B5 (49.13 mIoU, 75.2 GMACs), both of mmseg's 512
# pipeline (short side 512) and whole-image inference. The inherited threshold=0.9 is
# not calibrated for this pair.
_base_ = '../_base_/cascades/ade20k_seg_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b0_512x512_160k_ade20k/segformer_mit-b0_512x512_160k_ade20k_20210726_101530-8ffa8fda.pth'),
    base=dict(
        cfg_path='mmseg::segformer/segformer_mit-b5_8xb2-160k_ade20k-512x512.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_512x512_160k_ade20k/segformer_mit-b5_512x512_160k_ade20k_20210726_145235-94cedf59.pth'))
