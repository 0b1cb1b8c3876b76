#!/usr/bin/env bash
# README command 1: install (if needed) and run the main job on the embedded
# default (Fashion-MNIST cascade: accuracy and MACs saved).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
.venv/bin/python tools/demo_fashion_mnist.py "$@"
