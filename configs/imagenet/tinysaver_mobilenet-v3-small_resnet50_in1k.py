# TinySaver on ImageNet-1k: MobileNet-V3-small saver in front of a ResNet-50 base, both from the
# mmpretrain model zoo (checkpoints are downloaded on first use; needs internet).
# The cascade feeds both models its _base_'s test pipeline (ResNet's: short edge 256,
# centre crop 224); its inherited threshold=0.8 is a starting point, not calibrated for this pair.
_base_ = '../_base_/cascades/imagenet_bs32_cascade.py'
model = dict(
    saver=dict(
        cfg_path='mmpretrain::mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/mobilenet_v3/mobilenet-v3-small_8xb128_in1k_20221114-bd1bfcde.pth'),
    base=dict(
        cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'))
