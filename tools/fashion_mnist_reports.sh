#!/usr/bin/env bash
# Regenerate the issue-3 results on Fashion-MNIST: record every zoo model on the
# holdout, the test split and the augmented training split, then calibrate
# (guarantee mode), rank the candidate savers (delta C_tr) and compare 3 vs 2 stages.
# Usage: bash tools/fashion_mnist_reports.sh      (after bash tools/install.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
OUT=records/fashion_mnist
for m in resnet18-w2s2 resnet18-w4s2 resnet18-w4 resnet18-w8 resnet18-w16; do
  for split in holdout test "train --aug"; do
    $PY tools/record.py configs/fashion_mnist/${m}_fmnist.py \
      checkpoints/fashion_mnist/${m}_fmnist.pth --split $split --out-dir "$OUT" --overwrite
  done
done
$PY tools/fashion_mnist_reports.py --records "$OUT" --overwrite
