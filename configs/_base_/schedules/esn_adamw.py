# Training the exits of an Exit Sequence Network (saver and base frozen):
# AdamW with a cosine decay to zero, per iteration, as the official ESN code.
max_epochs = 10
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
