#!/usr/bin/env bash
# Regenerate results/benchmark_cpu.csv (+ .png): the Fashion-MNIST pair (shipped
# weights, real test images, batch 1/32/256) and an ImageNet-size pair
# (MobileNet-V3-small -> ResNet-50 at 224x224, random weights, batch 1/32).
# Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
PY=.venv/bin/python
rm -f results/benchmark_cpu.csv results/benchmark_cpu.png
$PY tools/benchmark.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
  --pair fmnist_w4s2_w16 --batch-sizes 1 32 256 --warmup 5 --repeats 21 --device cpu
$PY tools/benchmark.py configs/imagenet/tinysaver_mobilenet-v3-small_resnet50_in1k.py \
  --pair in1k_mbv3s_r50_224 --random-weights --input-shape 3 224 224 --batch-sizes 1 32 --repeats 3 --device cpu
