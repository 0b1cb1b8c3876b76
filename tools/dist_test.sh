#!/usr/bin/env bash
# Distributed evaluation (torchrun + mmengine's distributed runner); CPU (gloo) or GPU.
# Usage: bash tools/dist_test.sh CONFIG CKPT NPROC [tools/test.py args...]
#   CKPT may be "none" for a cascade whose stages name their own checkpoints.
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" test.py "$@"
