#!/usr/bin/env bash
# Run where the network and Go are (the development machine): everything
# bench/gpu/run.sh needs that the GPU box (no network, maybe no Go) lacks.
#   - bench/gpu/out/bin/{radraft,loopbench}: the binaries, built here;
#   - bench/gpu/out/ort/: ONNX Runtime 1.29.0's core library and its CUDA 13
#     plugin provider (scripts/fetch-onnxruntime.sh --gpu), copied from the cache.
# Copy the checkout (with those two folders) to the box, then run run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/gpu/out/bin bench/gpu/out/ort
go build -trimpath -ldflags="-s -w" -o bench/gpu/out/bin/radraft ./cmd/radraft
go build -trimpath -ldflags="-s -w" -o bench/gpu/out/bin/loopbench ./bench/inference/loopbench
lib=$(scripts/fetch-onnxruntime.sh --gpu)
cp "$(dirname "$lib")"/*.so bench/gpu/out/ort/
