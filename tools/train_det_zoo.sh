#!/usr/bin/env bash
# Build the Fashion-MNIST detection set, train the saver and base detectors with
# this project's configs, publish their weights to checkpoints/fmnist_det/, then
# record both on held-out training images and train the evaluator head.
# Usage: bash tools/train_det_zoo.sh [MODEL ...]  (default: saver and base)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
bash tools/make_fmnist_det.sh
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(rtmdet-w125_96px rtmdet-w375_128px)
for m in "${MODELS[@]}"; do
  echo "[train_det_zoo $(date +%H:%M:%S)] $m"
  rm -rf "work_dirs/$m"
  $PY tools/train.py "configs/fmnist_det/${m}_fmnist-det.py" --work-dir "work_dirs/$m"
  last=$(cat "work_dirs/$m/last_checkpoint")
  $PY tools/publish_checkpoint.py "$last" "checkpoints/fmnist_det/${m}_fmnist-det.pth" --overwrite
done
echo "[train_det_zoo $(date +%H:%M:%S)] evaluator"
bash tools/train_det_evaluator.sh
