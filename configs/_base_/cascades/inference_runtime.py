# What a cascade config built on this project's runtimes adds to it: the hook
# that counts the cascade's MACs, and val/test loops with default settings.
# The cascade is for inference: its config also gives its evaluators next to the
# data set base (mmengine refuses a key that two sibling bases define, so those
# cannot live here) and either inference_only.py (the stages' training data kept for
# the host tools that read it; tools/train.py refused) or train_dataloader = None (the
# classification configs, whose ESN children train beside a schedule base). The COCO
# configs set all of this themselves, over keys their mmdet training configs define.
custom_hooks = [dict(type='TinySaverMACsHook')]
val_cfg = dict()
test_cfg = dict()
