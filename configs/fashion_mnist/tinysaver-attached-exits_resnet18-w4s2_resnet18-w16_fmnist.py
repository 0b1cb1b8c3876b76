# The ablation of the Exit Sequence Network: the same exits WITHOUT the saver's
# token (plain attached exits, as in SDN/DyCE): no saver token in the attention,
# no saver logits added, every image weighs 1 in the loss. The saver still
# answers first (exit 0). Reproduce the shipped exits:
#   python tools/train.py configs/fashion_mnist/tinysaver-attached-exits_resnet18-w4s2_resnet18-w16_fmnist.py \
#       --cfg-options model.exits.checkpoint=None \
#       --publish checkpoints/fashion_mnist/attached-exits_resnet18-w4s2_resnet18-w16_fmnist.pth --overwrite
_base_ = './tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py'
model = dict(exits=dict(saver_token=False, checkpoint=None))
