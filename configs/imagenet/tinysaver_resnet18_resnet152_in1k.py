# TinySaver on ImageNet-1k: ResNet-18 saver in front of a ResNet-152 base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models its _base_'s test pipeline (ResNet's: short edge 256,
# centre crop 224); its inherited threshold=0.8 is a starting point, not calibrated for this pair.
_base_ = '../_base_/cascades/imagenet_bs32_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'),
    base=dict(
        cfg_path='mmpretrain::resnet/resnet152_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'))
