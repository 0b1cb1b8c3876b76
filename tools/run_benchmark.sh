#!/usr/bin/env bash
# Regenerate the timing results on this machine (run it otherwise idle):
#   results/benchmark_cpu.csv (+ .png)  routed cascade vs base alone, per backend
#       (pytorch = eager, onnxruntime = the stages exported with tools/deploy.py's
#       exporter): the two Fashion-MNIST pairs (shipped weights, real test images,
#       batch 1/32/256; savers resnet18-w4s2 and convnet-c16-32-64) and an
#       ImageNet-size pair (MobileNet-V3-small -> ResNet-50 at 224x224, random
#       weights, batch 1/32/256)
#   results/stage_latency_cpu.csv        per-stage ms/img (the cascades' stages at
#       the routed sub-batch sizes, and the five Fashion-MNIST saver candidates)
#   results/end_to_end_cpu.csv           images/s of the test loop (tools/test.py)
#   results/pytorch_options_cpu.csv      fuse_conv_bn / channels_last / compile vs eager
# then prints the speed goals report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
PY=.venv/bin/python
R=results
rm -f $R/benchmark_cpu.csv $R/benchmark_cpu.png $R/stage_latency_cpu.csv \
  $R/end_to_end_cpu.csv $R/pytorch_options_cpu.csv
FMNIST=configs/fashion_mnist
DEMO=$FMNIST/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py
for backend in pytorch onnxruntime; do
  for pair in w4s2:resnet18-w4s2 convnet:convnet-c16-32-64; do
    cfg=$FMNIST/tinysaver_${pair#*:}_resnet18-w16_fmnist.py
    # batch 1 calls are short and noisy: many more rounds there
    $PY tools/benchmark.py forced-ratio "$cfg" --pair "fmnist_${pair%%:*}_w16" --backend $backend \
      --batch-sizes 1 --warmup 10 --repeats 101 --device cpu
    $PY tools/benchmark.py forced-ratio "$cfg" --pair "fmnist_${pair%%:*}_w16" --backend $backend \
      --batch-sizes 32 256 --warmup 3 --repeats 15 --device cpu
  done
  IN1K=configs/imagenet/tinysaver_mobilenet-v3-small_resnet50_in1k.py
  in1k=(--pair in1k_mbv3s_r50_224 --random-weights --input-shape 3 224 224 --backend $backend
        --device cpu)
  $PY tools/benchmark.py forced-ratio $IN1K "${in1k[@]}" --batch-sizes 1 --warmup 2 --repeats 21
  $PY tools/benchmark.py forced-ratio $IN1K "${in1k[@]}" --batch-sizes 32 --warmup 1 --repeats 3
  # ~1 TMAC per base call at 256 (~25 s eager here): two rounds, the ends of the goals' range
  $PY tools/benchmark.py forced-ratio $IN1K "${in1k[@]}" --batch-sizes 256 --warmup 0 --repeats 2 \
    --exit-ratios 0.25 0.9
  # the saver candidates of tools/fashion_mnist_reports.sh, alone
  # (batch sizes the routing produces at batch 32, for the latency cost's interpolation)
  $PY tools/benchmark.py stages --backend $backend --batch-sizes 1 4 8 16 24 32 64 128 256 \
    --warmup 3 --repeats 21 \
    $FMNIST/resnet18-w2s2_fmnist.py $FMNIST/resnet18-w4s2_fmnist.py \
      $FMNIST/resnet18-w4_fmnist.py $FMNIST/resnet18-w8_fmnist.py \
      $FMNIST/convnet-c16-32-64_fmnist.py $FMNIST/resnet18-w16_fmnist.py
done
$PY tools/benchmark.py end-to-end $DEMO --repeats 3
$PY tools/benchmark.py pytorch-options $DEMO --batch-sizes 1 32 256 --warmup 3 --repeats 11
# the latency-ranked saver choice beside the MACs-ranked one, at batch 32 on each backend
# (needs the records written by tools/fashion_mnist_reports.sh)
REC=records/fashion_mnist
if [ -e $REC/resnet18-w16_fmnist_train_aug.npz ]; then
  # the CPU-friendly convnet saver too (about resnet18-w4s2's MACs, a fraction of its time)
  C=convnet-c16-32-64_fmnist
  for split in test "train --aug"; do
    $PY tools/record.py configs/fashion_mnist/$C.py checkpoints/fashion_mnist/$C.pth \
      --split $split --out-dir $REC --overwrite
  done
  TRAIN=() TEST=()
  for m in resnet18-w8 resnet18-w4 resnet18-w4s2 resnet18-w2s2 convnet-c16-32-64; do
    TRAIN+=($REC/${m}_fmnist_train_aug.npz) TEST+=($REC/${m}_fmnist_test.npz)
  done
  for backend in pytorch onnxruntime; do
    $PY tools/select_saver.py --base-train $REC/resnet18-w16_fmnist_train_aug.npz \
      --savers-train "${TRAIN[@]}" --base-test $REC/resnet18-w16_fmnist_test.npz \
      --savers-test "${TEST[@]}" --max-drop 0.005 --cost latency \
      --latency-table $R/stage_latency_cpu.csv --batch-size 32 --backend $backend \
      --out $R/selection_latency_${backend}_fashion_mnist.csv --overwrite
  done
else
  echo "latency selection skipped: run bash tools/fashion_mnist_reports.sh first (records in $REC)"
fi
$PY tools/benchmark.py summary $R/benchmark_cpu.csv
