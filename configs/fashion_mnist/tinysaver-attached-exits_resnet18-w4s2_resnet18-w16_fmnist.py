# The ablation of the Exit Sequence Network: the same exits WITHOUT the saver's
# token (plain attached exits, as in SDN/DyCE): no saver token in the attention,
# no saver logits added, every image weighs 1 in the loss. The saver still
# answers first (exit 0). Reproduce the shipped exits:
#   python tools/train.py configs/fashion_mnist/tinysaver-attached-exits_resnet18-w4s2_resnet18-w16_fmnist.py \
#       --cfg-options model.exits.checkpoint=None \
#       --publish checkpoints/fashion_mnist/attached-exits_resnet18-w4s2_resnet18-w16_fmnist.pth --overwrite
_base_ = './tinysaver-esn_resnet18-w4s2_resnet18-w16_fmnist.py'
model = dict(
    exits=dict(saver_token=False,
               checkpoint='{{fileDirname}}/../../checkpoints/fashion_mnist/'
               'attached-exits_resnet18-w4s2_resnet18-w16_fmnist.pth'),
    # its own holdout calibration, as the ESN's (top-1 drop <= 0.1 point there)
    threshold=[0.8836994916200638, 0.987036714553833, 0.8347368794679642, 0.5727065175771714])
