#!/usr/bin/env bash
# Regenerate results/benchmark_cpu.csv (+ .png): the two Fashion-MNIST pairs
# (shipped weights, real test images, batch 1/32/256; savers resnet18-w4s2 and
# the CPU-friendly convnet-c16-32-64) and an ImageNet-size pair
# (MobileNet-V3-small -> ResNet-50 at 224x224, random weights, batch 1/32).
# Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
PY=.venv/bin/python
rm -f results/benchmark_cpu.csv results/benchmark_cpu.png
# batch 1 calls are short and noisy: many more rounds there
FMNIST=configs/fashion_mnist
for pair in w4s2:resnet18-w4s2 convnet:convnet-c16-32-64; do
  cfg=$FMNIST/tinysaver_${pair#*:}_resnet18-w16_fmnist.py
  $PY tools/benchmark.py "$cfg" --pair "fmnist_${pair%%:*}_w16" --batch-sizes 1 --warmup 10 --repeats 101 --device cpu
  $PY tools/benchmark.py "$cfg" --pair "fmnist_${pair%%:*}_w16" --batch-sizes 32 256 --warmup 5 --repeats 21 --device cpu
done
IN1K=configs/imagenet/tinysaver_mobilenet-v3-small_resnet50_in1k.py
$PY tools/benchmark.py $IN1K --pair in1k_mbv3s_r50_224 --random-weights --input-shape 3 224 224 \
  --batch-sizes 1 --warmup 3 --repeats 31 --device cpu
$PY tools/benchmark.py $IN1K --pair in1k_mbv3s_r50_224 --random-weights --input-shape 3 224 224 \
  --batch-sizes 32 --warmup 1 --repeats 7 --device cpu
$PY tools/benchmark.py --summary results/benchmark_cpu.csv
