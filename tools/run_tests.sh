#!/usr/bin/env bash
# README command 2: install (if needed) and run the tests.
#   bash tools/run_tests.sh            default run (slow end-to-end tests skipped)
#   bash tools/run_tests.sh --all      everything, as CI does
#   bash tools/run_tests.sh -k routing extra pytest arguments pass through
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
bash tools/make_fmnist_det.sh   # the detection set the detection tests read (~15 s once)
bash tools/make_fmnist_seg.sh   # the segmentation set the zoo checkpoint test reads (~20 s once)
MARK=(-m "not slow")
if [ "${1:-}" = "--all" ]; then MARK=(); shift; fi
exec .venv/bin/python -m pytest tests "${MARK[@]}" "$@"
