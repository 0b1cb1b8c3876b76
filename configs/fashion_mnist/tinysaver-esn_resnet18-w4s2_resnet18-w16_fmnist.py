# Exit Sequence Network (issue 13, in progress) on the Fashion-MNIST demo pair:
# the saver resnet18-w4s2 and the base resnet18-w16 of the demo cascade (their
# shipped checkpoints, frozen), with exits after the base's first three stages,
# fed by the saver's token (causal self-attention over saver + stage tokens).
# The exits are NOT trained yet (no checkpoint, random weights): their thresholds
# are above 1, which turns them off, so as shipped this config routes like the
# demo cascade (saver threshold inherited). Once exits are trained, give
# model.exits.checkpoint=... and calibrated thresholds [t_saver, t_exit1, t_exit2, t_exit3].
_base_ = './tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py'
model = dict(
    type='TinySaverESN',
    exits=dict(dim=64, num_attn_layers=2, num_heads=2, after=[0, 1, 2], saver_token=True),
    threshold=[0.8673829436302185, 1.01, 1.01, 1.01])
