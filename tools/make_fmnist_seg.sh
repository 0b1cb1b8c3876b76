#!/usr/bin/env bash
# Build data/fmnist_seg (96x96 canvases, 6000 train + 1000 holdout + 1000 val
# images, ~20 s) unless it is already there with this size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
stamp=data/fmnist_seg/.made_6000_1000_1000
[ -f "$stamp" ] && exit 0
$PY tools/make_fmnist_seg.py --out data/fmnist_seg --train 6000 --holdout 1000 --val 1000
touch "$stamp"
