#!/usr/bin/env bash
# Regenerate the issue-13 results on Fashion-MNIST: record the demo pair (and the
# 3-stage cascade's middle model) and every routing step of the ESN and of its
# ablation (attached exits without the saver token) on the holdout and the test
# split, then fit every router on the holdout and report it on test
# (results/esn_fashion_mnist.json, .png, _timing.csv).
# Usage: bash tools/esn_fashion_mnist.sh      (after bash tools/install.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
OUT=records/esn
for split in holdout test; do
  for m in resnet18-w4s2 resnet18-w8 resnet18-w16; do
    $PY tools/record.py configs/fashion_mnist/${m}_fmnist.py \
      checkpoints/fashion_mnist/${m}_fmnist.pth --split $split --out-dir "$OUT" --overwrite
  done
  for c in tinysaver-esn tinysaver-attached-exits; do
    $PY tools/record.py configs/fashion_mnist/${c}_resnet18-w4s2_resnet18-w16_fmnist.py \
      --split $split --out-dir "$OUT" --overwrite
  done
done
$PY tools/esn_report.py --records "$OUT" --overwrite "$@"
