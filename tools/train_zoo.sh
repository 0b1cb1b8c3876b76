#!/usr/bin/env bash
# Train the Fashion-MNIST zoo with this project's configs and publish the
# weights to checkpoints/fashion_mnist/ (what the repo ships).
# Usage: bash tools/train_zoo.sh [MODEL ...]   (default: the whole zoo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(resnet18-w2s2 resnet18-w4s2 resnet18-w4 resnet18-w8 resnet18-w16 convnet-c16-32-64)
for m in "${MODELS[@]}"; do
  echo "[train_zoo $(date +%H:%M:%S)] $m"
  rm -rf "work_dirs/$m"
  $PY tools/train.py "configs/fashion_mnist/${m}_fmnist.py" --work-dir "work_dirs/$m" \
    --publish "checkpoints/fashion_mnist/${m}_fmnist.pth" --overwrite
done
