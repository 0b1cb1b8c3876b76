# What every TinySaver cascade config adds to its runtime: the hook that counts
# the cascade's MACs, and val/test loops with default settings. The cascade is
# for inference (its configs set train_dataloader = None): train the saver and
# the base separately.
custom_hooks = [dict(type='TinySaverMACsHook')]
val_cfg = dict()
test_cfg = dict()
