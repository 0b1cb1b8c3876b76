#!/usr/bin/env bash
# Detection exit study (issue 27) on the embedded Fashion-MNIST detection set: every exit
# policy (max_score, today's head, the ORIC target, the set-encoder inputs, both, with and
# without the training split's records and the flipped view) fitted on holdout records,
# its threshold calibrated on the holdout's calibration half, reported on the 1,000 val
# images at max mAP drops of 0.5 and 1.0 point, next to its best val threshold and both
# oracles. Adds the study to results/evaluator_fmnist_det.json (key "study") and draws
# results/evaluator_fmnist_det_study.png. Records that exist are reused (delete them to
# re-record). ORIC: context 99, 2 draws per image (records/oric keeps them).
# Run after tools/train_det_evaluator.sh (which writes the summary this extends).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
CFG=configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py
TCFG=configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_trainrec.py
R=records/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det
for split in holdout val; do
  [ -f "${R}_${split}_det.npz" ] || $PY tools/record.py "$CFG" --split $split
  [ -f "records/det_${split}_flip.npz" ] || \
    $PY tools/record_det_views.py "$CFG" --split $split --flip all --out "records/det_${split}_flip.npz"
done
[ -f records/det_train_aug.npz ] || $PY tools/record_det_views.py "$TCFG" --split train \
  --flip random --roles saver base --out records/det_train_aug.npz
$PY tools/det_exit_study.py --holdout "${R}_holdout_det.npz" --val "${R}_val_det.npz" \
  --train records/det_train_aug.npz --flip-holdout records/det_holdout_flip.npz \
  --flip-val records/det_val_flip.npz \
  --shipped checkpoints/fmnist_det/evaluator_rtmdet-w125_96px_fmnist-det.pth \
  --oric-context 99 --oric-draws 2 --oric-cache records/oric \
  --out results/evaluator_fmnist_det.json --extend --overwrite
