#!/usr/bin/env bash
# Record the embedded segmentation cascade's saver and base on the held-out canvases
# and train + calibrate its evaluator head (and every simple rule) for a maximum
# dataset-level mIoU drop of 0.01 there (results/evaluator_fmnist_seg.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
CFG=configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py
$PY tools/record.py "$CFG" --split holdout --overwrite
$PY tools/train_evaluator.py records/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg_holdout_seg.npz \
  --out checkpoints/fmnist_seg/evaluator_fcn_r18v1c-w8_fmnist-seg.pth --max-drop 0.01 \
  --results results/evaluator_fmnist_seg.json --overwrite
