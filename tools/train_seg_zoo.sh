#!/usr/bin/env bash
# Build the Fashion-MNIST segmentation set, train the saver and base segmentors
# with this project's configs and publish their weights to checkpoints/fmnist_seg/.
# Usage: bash tools/train_seg_zoo.sh [MODEL ...]
#   (default: fcn_r18v1c-w8 (saver) and deeplabv3_r18v1c-w32-os4 (base))
# One torch thread per run: on a shared 2-core machine two threads per run
# slow down many-fold whenever another process is busy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PY="$PY" bash tools/make_fmnist_seg.sh
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(fcn_r18v1c-w8 deeplabv3_r18v1c-w32-os4)
# publish_checkpoint.py refuses an existing destination unless --overwrite is
# given; older versions have no such flag: remove the old file instead.
OVERWRITE=()
if $PY tools/publish_checkpoint.py --help | grep -q -- '--overwrite'; then OVERWRITE=(--overwrite); fi
for m in "${MODELS[@]}"; do
  echo "[train_seg_zoo $(date +%H:%M:%S)] $m"
  rm -rf "work_dirs/$m"
  $PY tools/train.py "configs/fmnist_seg/${m}_fmnist-seg.py" --work-dir "work_dirs/$m"
  last=$(cat "work_dirs/$m/last_checkpoint")
  dst="checkpoints/fmnist_seg/${m}_fmnist-seg.pth"
  [ ${#OVERWRITE[@]} -gt 0 ] || rm -f "$dst"
  $PY tools/publish_checkpoint.py "$last" "$dst" "${OVERWRITE[@]}"
done
echo "[train_seg_zoo $(date +%H:%M:%S)] done"
