#!/usr/bin/env bash
# Record the embedded detection cascade's saver and base on the held-out training
# images and train + calibrate its evaluator head (max box-mAP drop 0.01 there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
CFG=configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py
$PY tools/record.py "$CFG" --split holdout --overwrite
$PY tools/train_evaluator.py records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_holdout_det.npz \
  --out checkpoints/fmnist_det/evaluator_rtmdet-w125_96px_fmnist-det.pth --max-drop 0.01 \
  --results results/evaluator_fmnist_det.json --overwrite
