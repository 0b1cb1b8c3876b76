#!/usr/bin/env bash
# Drift study on Fashion-MNIST: corrupted test copies, records of the demo cascade's saver and
# base on holdout/test/each corruption, the holdout calibration (with its drift reference), then
# results/shift_fashion_mnist.json + .png (tools/shift_report.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
OUT=records/shift
$PY tools/make_fmnist_shift.py --overwrite
$PY tools/record.py $CFG --split holdout --out-dir $OUT/holdout --overwrite
$PY tools/record.py $CFG --split test --out-dir $OUT/clean --overwrite
for c in noise blur contrast brightness rotation shift inversion; do
  $PY tools/record.py $CFG --split test --out-dir $OUT/$c --overwrite \
    --cfg-options test_dataloader.dataset.data_root=data/fmnist_shift/$c
done
N=tinysaver_resnet18-w4s2_resnet18-w16_fmnist
$PY tools/calibrate.py $OUT/holdout/${N}_holdout_saver.npz $OUT/holdout/${N}_holdout_base.npz \
  --target drop --epsilon 0.001 --out results/calibration_shift_fashion_mnist.json --overwrite
$PY tools/shift_report.py --overwrite
