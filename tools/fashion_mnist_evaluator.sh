#!/usr/bin/env bash
# The learned exit score for plain TinySaver on Fashion-MNIST: record the demo
# pair (saver resnet18-w4s2, base resnet18-w16) on the holdout and the
# test split, train + calibrate the classification evaluator head on the
# holdout (max top-1 drop 0.1 point) and compare it with max_prob / margin /
# entropy on the test split (results/cls_evaluator_fashion_mnist.json).
# Usage: bash tools/fashion_mnist_evaluator.sh      (after bash tools/install.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
OUT=records/fashion_mnist
for m in resnet18-w4s2 resnet18-w16; do
  for split in holdout test; do
    $PY tools/record.py configs/fashion_mnist/${m}_fmnist.py \
      checkpoints/fashion_mnist/${m}_fmnist.pth --split $split --out-dir "$OUT" --overwrite
  done
done
$PY tools/train_evaluator.py "$OUT/resnet18-w4s2_fmnist_holdout.npz" \
  --base "$OUT/resnet18-w16_fmnist_holdout.npz" \
  --test "$OUT/resnet18-w4s2_fmnist_test.npz" "$OUT/resnet18-w16_fmnist_test.npz" \
  --out checkpoints/fashion_mnist/evaluator_resnet18-w4s2_fmnist.pth --max-drop 0.001 \
  --weight-decay 0.01 --results results/cls_evaluator_fashion_mnist.json --overwrite
