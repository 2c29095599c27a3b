#!/usr/bin/env bash
# For a GPU machine reached only through a copy of the checkout limited to
# 64 MiB per call (this workplace's device machines): packs what run.sh
# needs beyond the tracked tree (the binaries and ONNX Runtime with its
# 230 MB CUDA provider) as xz, split into parts that fit beside the tracked
# tree in 60 MiB (4 parts of 48 MiB with an 11 MB tree), one folder per
# part: bench/gpu/carry/p0, p1, ... Carry one folder per call, each call
# running `bench/gpu/device.sh K` (K = the part's number); the call with
# the last part unpacks and runs the benchmark. See README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench/gpu/prepare.sh >/dev/null
rm -rf bench/gpu/carry
mkdir -p bench/gpu/carry
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
part=$(( 60 * 1024 * 1024 - tree ))
[ "$part" -gt $(( 8 * 1024 * 1024 )) ] || { echo "pack: the tracked tree ($tree bytes) leaves no room under 60 MiB" >&2; exit 1; }
tar -cf - bench/gpu/out/bin bench/gpu/out/ort | xz -6 -T0 | split -b "$part" -d -a 1 - bench/gpu/carry/part.
n=$(ls bench/gpu/carry/part.* | wc -l)
for f in bench/gpu/carry/part.*; do
  d=bench/gpu/carry/p${f##*.}
  mkdir -p "$d"
  mv "$f" "$d/"
  echo "$n" >"$d/parts"
done
ls -l bench/gpu/carry/p*/
