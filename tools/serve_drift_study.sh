#!/usr/bin/env bash
# The serving drift test (CUSUM on the exit stream) on the Fashion-MNIST corruption suite:
# corrupted test copies (tools/make_fmnist_shift.py), records of the demo cascade on the clean
# test split and each corruption (reused when present), then false alarms per 10,000 clean
# requests and detection delays after a change point (tools/serve_drift_study.py) ->
# results/drift_cusum_fashion_mnist.json. The calibration is the drift study's
# (results/calibration_shift_fashion_mnist.json, bash tools/shift_fashion_mnist.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
SHIFT=${SHIFT:-work_dirs/fmnist_shift}
OUT=records/shift
[ -f "$SHIFT/noise/t10k-images-idx3-ubyte" ] || $PY tools/make_fmnist_shift.py --out "$SHIFT"
N=tinysaver_resnet18-w4s2_resnet18-w16_fmnist
[ -f "$OUT/clean/${N}_test_saver.npz" ] || \
  $PY tools/record.py $CFG --split test --out-dir $OUT/clean --overwrite
for c in noise blur contrast brightness rotation shift inversion; do
  [ -f "$OUT/$c/${N}_test_saver.npz" ] || \
    $PY tools/record.py $CFG --split test --out-dir $OUT/$c --overwrite \
      --cfg-options test_dataloader.dataset.data_root=$SHIFT/$c
done
$PY tools/serve_drift_study.py --calibration results/calibration_shift_fashion_mnist.json \
  --records $OUT --overwrite
