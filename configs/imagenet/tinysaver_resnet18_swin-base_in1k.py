# TinySaver on ImageNet-1k: ResNet-18 saver in front of a Swin-B base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models its _base_'s test pipeline (Swin's: short edge 256 bicubic,
# centre crop 224); its inherited threshold=0.8 is a starting point, not calibrated for this pair.
_base_ = '../_base_/cascades/imagenet_bs64_swin_224_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'),
    base=dict(
        cfg_path='mmpretrain::swin_transformer/swin-base_16xb64_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_base_224_b16x64_300e_imagenet_20210616_190742-93230b0d.pth'))
