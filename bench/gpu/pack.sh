#!/usr/bin/env bash
# For a GPU machine reached only through a copy of the checkout limited to
# 64 MiB per call (this workplace's device machines): packs what run.sh
# needs beyond the tracked tree (the binaries and ONNX Runtime with its
# 230 MB CUDA provider) as xz, split into parts of 48 MiB, one folder per
# part: bench/gpu/carry/p0, p1, ... Carry one folder per call, each call
# running `bench/gpu/device.sh K` (K = the part's number); the call with
# the last part unpacks and runs the benchmark. See README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench/gpu/prepare.sh >/dev/null
rm -rf bench/gpu/carry
mkdir -p bench/gpu/carry
tar -cf - bench/gpu/out/bin bench/gpu/out/ort | xz -6 -T0 | split -b 48M -d -a 1 - bench/gpu/carry/part.
n=$(ls bench/gpu/carry/part.* | wc -l)
for f in bench/gpu/carry/part.*; do
  d=bench/gpu/carry/p${f##*.}
  mkdir -p "$d"
  mv "$f" "$d/"
  echo "$n" >"$d/parts"
done
ls -l bench/gpu/carry/p*/
