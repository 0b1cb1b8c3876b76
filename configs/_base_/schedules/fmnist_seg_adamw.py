# AdamW + cosine decay for training the small segmentors from scratch on CPU:
# the detectors' schedule with a lighter weight decay.
_base_ = './fmnist_det_adamw.py'
optim_wrapper = dict(optimizer=dict(weight_decay=0.01))
