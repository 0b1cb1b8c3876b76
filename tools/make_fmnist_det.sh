#!/usr/bin/env bash
# Build data/fmnist_det (COCO format, 4000 train + 1000 val images, ~15 s) unless
# it is already there with this size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stamp=data/fmnist_det/.made_4000_1000
[ -f "$stamp" ] && exit 0
.venv/bin/python tools/make_fmnist_det.py --out data/fmnist_det --train 4000 --val 1000
touch "$stamp"
