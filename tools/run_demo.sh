#!/usr/bin/env bash
# README command 1: install (if needed), then the three embedded cascades on
# Fashion-MNIST data: classification (top-1, MACs saved), detection (box mAP,
# learned exit head, exit policies compared) and segmentation (mIoU, learned
# exit head, exit policies compared). It ends with one table of the three,
# also written to results/demo_summary.json.
#
# Each step's full output (config dumps, per-iteration logs, metrics) goes to
# work_dirs/demo_*/console.log beside mmengine's own logs; the console shows
# one line per step, the warnings and errors, and the final table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh

# Progress bars would flood a console that is not a terminal; the step lines say what runs.
export TQDM_DISABLE=1

# step NAME LOG CMD...: run CMD with its output in LOG; stderr (Python warnings,
# tracebacks) and the log's WARNING/ERROR lines reach the console too.
step() {
  local name=$1 log=$2 start=$SECONDS
  shift 2
  mkdir -p "$(dirname "$log")"
  echo "[demo] $name (log: $log)"
  : >"$log"
  if ! "$@" >>"$log" 2> >(tee -a "$log" >&2); then
    echo "[demo] $name FAILED; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  grep -E ' - (WARNING|ERROR|CRITICAL) - ' "$log" >&2 || true
  echo "[demo] $name done in $((SECONDS - start)) s"
}

# The demo regenerates its own results files: it asks to replace them.
step 'classification: Fashion-MNIST cascade' work_dirs/demo_fashion_mnist/console.log \
  .venv/bin/python tools/demo_fashion_mnist.py --overwrite "$@"
step 'detection data (data/fmnist_det)' work_dirs/demo_det/make_data.log bash tools/make_fmnist_det.sh
step 'detection: RTMDet cascade with a learned exit head' work_dirs/demo_det/console.log \
  .venv/bin/python tools/test.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_report.py \
  --work-dir work_dirs/demo_det --cfg-options test_evaluator.2.overwrite=True
step 'segmentation data (data/fmnist_seg)' work_dirs/demo_seg/make_data.log bash tools/make_fmnist_seg.sh
step 'segmentation: FCN -> DeepLabV3 cascade with a learned exit head' work_dirs/demo_seg/console.log \
  .venv/bin/python tools/test.py configs/fmnist_seg/tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg_report.py \
  --work-dir work_dirs/demo_seg --cfg-options test_evaluator.2.overwrite=True
echo
.venv/bin/python tools/demo_summary.py --out results/demo_summary.json --overwrite
