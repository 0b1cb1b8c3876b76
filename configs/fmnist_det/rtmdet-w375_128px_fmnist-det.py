# Base detector of the embedded detection demo: RTMDet (tiny widths) at the
# full 128x128 canvas. Train: python tools/train.py configs/fmnist_det/rtmdet-w375_128px_fmnist-det.py
_base_ = [
    '../_base_/models/rtmdet_fmnist.py', '../_base_/datasets/fmnist_det.py',
    '../_base_/schedules/fmnist_det_adamw.py', '../_base_/det_runtime.py'
]
