#!/usr/bin/env bash
# Distributed evaluation with torchrun + mmengine's distributed runner, as in
# OpenMMLab projects. Works on CPU (gloo) and GPU (nccl).
# Usage: bash tools/dist_test.sh CONFIG CKPT NPROC [tools/test.py args...]
#   CKPT may be "none" for a cascade whose stages name their own checkpoints.
set -euo pipefail
CONFIG=$1
CKPT=$2
NPROC=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${PYTHON:-python}
[ -x "$DIR/../.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && PY="$DIR/../.venv/bin/python"
CKPT_ARG=("$CKPT"); [ "$CKPT" = "none" ] && CKPT_ARG=()
exec "$PY" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$NPROC" \
  "$DIR/test.py" "$CONFIG" "${CKPT_ARG[@]}" --launcher pytorch "$@"
