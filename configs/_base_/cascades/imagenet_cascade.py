# Shared by the ImageNet-1k cascades of mmpretrain model-zoo pairs: this
# project's runtime, the max-probability exit rule and threshold=0.8, a starting
# point that is not calibrated for any pair: record both models on your data and
# calibrate it before relying on the accuracy. The data set, its test pipeline
# and the evaluators come with imagenet_bs32_cascade.py or
# imagenet_bs64_swin_224_cascade.py (they override the mmpretrain data set
# base's keys, so they sit in its child, one per data set base).
_base_ = ['../default_runtime.py', './inference_runtime.py']
model = dict(type='TinySaverClassifier', threshold=0.8, exit_rule='max_prob')
