#!/usr/bin/env bash
# README command 1: install (if needed) and run the main job on the embedded
# default (Fashion-MNIST cascade: accuracy and MACs saved), then the embedded
# detection cascade (box mAP, MACs saved, exit policies compared), then the
# embedded segmentation cascade (mIoU, MACs saved, exit policies compared).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
# The demo regenerates its own results files: it asks to replace them.
.venv/bin/python tools/demo_fashion_mnist.py --overwrite "$@"
bash tools/make_fmnist_det.sh
.venv/bin/python tools/test.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_report.py \
  --work-dir work_dirs/demo_det --cfg-options test_evaluator.2.overwrite=True
bash tools/make_fmnist_seg.sh
.venv/bin/python tools/test.py configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg_report.py \
  --work-dir work_dirs/demo_seg --cfg-options test_evaluator.2.overwrite=True
