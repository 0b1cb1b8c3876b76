#!/usr/bin/env bash
# Distributed recording, sharded like evaluation; rank 0 writes the records.
# Usage: bash tools/dist_record.sh CONFIG CKPT NPROC --split SPLIT [tools/record.py args...]
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" record.py "$@"
