# TinySaver on ImageNet-1k: MobileNet-V2 saver in front of a ConvNeXt-B base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models its _base_'s test pipeline (Swin's: short edge 256 bicubic,
# centre crop 224); its inherited threshold=0.8 is a starting point, not calibrated for this pair.
_base_ = '../_base_/cascades/imagenet_bs64_swin_224_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'),
    base=dict(
        cfg_path='mmpretrain::convnext/convnext-base_32xb128_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/convnext/convnext-base_32xb128_in1k_20221207-fbdb5eb9.pth'))
