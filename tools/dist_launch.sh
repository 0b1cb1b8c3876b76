#!/usr/bin/env bash
# torchrun launcher shared by dist_test.sh and dist_record.sh.
# Usage: bash tools/dist_launch.sh SCRIPT CONFIG CKPT NPROC [args...]
#   CKPT may be "none" for a cascade whose stages name their own checkpoints.
set -euo pipefail
SCRIPT=$1; CONFIG=$2; CKPT=$3; NPROC=$4
shift 4
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${PYTHON:-python}
[ -z "${PYTHON:-}" ] && [ -x "$DIR/../.venv/bin/python" ] && PY="$DIR/../.venv/bin/python"
CKPT_ARG=("$CKPT"); [ "$CKPT" = "none" ] && CKPT_ARG=()
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" "$DIR/$SCRIPT" "$CONFIG" "${CKPT_ARG[@]}" --launcher pytorch "$@"
