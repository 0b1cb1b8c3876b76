#!/usr/bin/env bash
# Install tinysaver_mm and the OpenMMLab stack into .venv/ at the repo root.
# Idempotent: when everything is already present it finishes in seconds.
# Usage: bash tools/install.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
STAMP="$VENV/.tinysaver_installed"
step() { echo "[install $(date +%H:%M:%S)] $*"; }

# pip must not take a CPU-only torch from a local find-links dir: PyPI's
# torchvision 0.28.0 cannot import against it (see docs/en/get_started.md, "Install details").
pipi() { env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip install \
           --disable-pip-version-check -q -c "$CONSTRAINTS" "$@"; }

# 1. Fashion-MNIST from Debian (the embedded default data set).
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  step "apt: dataset-fashion-mnist"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
else
  step "apt: dataset-fashion-mnist present"
fi

# Decompressed copies for mmpretrain's FashionMNIST dataset (git-ignored data/).
DATA="$ROOT/data/fashion_mnist"; SRC=/usr/share/datasets/fashion-mnist
mkdir -p "$DATA"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -s "$DATA/$f" ] || { gunzip -c "$SRC/$f.gz" > "$DATA/$f.tmp" && mv "$DATA/$f.tmp" "$DATA/$f"; }
done
step "data: $DATA"

# 2. Fast path: everything was installed by this script and still imports.
if [ -f "$STAMP" ] && cmp -s "$STAMP" <(cat "$CONSTRAINTS" "$ROOT/requirements/runtime.txt" "$ROOT/requirements/mim.txt" "$ROOT/requirements/deploy.txt" "$ROOT/requirements/serve.txt" "$ROOT/setup.py") \
   && "$PY" -c "import mmcv.ops, mmdet, mmpretrain, mmseg, mmseg.models, onnxruntime, ray.serve, tinysaver_mm" 2>/dev/null; then
  step "python stack present in $VENV"
  exit 0
fi

# 3. venv + torch/torchvision (the registry's default build; runs on CPU).
[ -x "$PY" ] || { step "venv: $VENV"; python3 -m venv "$VENV"; }
step "pip: torch, torchvision, build tools"
pipi "torch==2.13.0" "torchvision==0.28.0" "setuptools>=77.0.3,<81" wheel ninja numpy

# 4. mmcv 2.1.0 with CPU ops (mmdet 3.3.0 and mmseg 1.2.2 assert mmcv < 2.2.0), built from source (~15 min on 2 cores; pip caches the wheel).
if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
  step "pip: mmcv==2.1.0 from source with ops (first time ~15 min, then cached)"
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" pipi --no-build-isolation "mmcv==2.1.0"
fi

# 5. The rest of the stack and this package (editable).
step "pip: mmengine, mmdet, mmpretrain, mmsegmentation (+ ftfy, regex), pycocotools, pytest, tinysaver_mm"
pipi -r "$ROOT/requirements/runtime.txt"
pipi --no-build-isolation --no-deps -e "$ROOT"
"$PY" -c "import mmcv.ops, mmdet, mmpretrain, mmseg, mmseg.models, ftfy, regex, torchvision, tinysaver_mm" \
  || { echo "install: import check failed" >&2; exit 1; }
# --- mim (issue 14): openmim, and the package where mim looks for it ----------------------
# mim finds a package's .mim/{configs,tools,model-index.yml} under site-packages/<module>;
# an editable (PEP 660) install has no such directory, so it is linked to the source package
# (setup.py made tinysaver_mm/.mim; a link only, never over a real directory).
step "pip: openmim (requirements/mim.txt)"
pipi -r "$ROOT/requirements/mim.txt"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ -e "$SITE/tinysaver_mm" ] && [ ! -L "$SITE/tinysaver_mm" ] \
  || ln -sfn "$ROOT/tinysaver_mm" "$SITE/tinysaver_mm"
# --- end mim -------------------------------------------------------------------------------
step "pip: onnx, onnxruntime (requirements/deploy.txt: tools/deploy.py, backend='onnxruntime')"
pipi -r "$ROOT/requirements/deploy.txt"
step "pip: ray[serve] (requirements/serve.txt: tinysaver_mm.serving, tools/serve.py)"
pipi -r "$ROOT/requirements/serve.txt"
"$PY" -c "import ray.serve" || { echo "install: ray.serve does not import" >&2; exit 1; }
cat "$CONSTRAINTS" "$ROOT/requirements/runtime.txt" "$ROOT/requirements/mim.txt" "$ROOT/requirements/deploy.txt" "$ROOT/requirements/serve.txt" "$ROOT/setup.py" > "$STAMP"
step "done: $VENV"
