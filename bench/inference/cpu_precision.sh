#!/usr/bin/env bash
# The CPU bundle recipe on the demo-sized layout: the float32 decoder vs the
# same decoder with int8 weights (deploy/export/quantize_int8.py: MatMulNBits,
# 8 bits, block 32, accuracy level 1), in one run. Prints the decoder sizes,
# the median prefill time and decode speed of `radraft draft` on the testdata
# CR (alternating runs), and whether greedy tokens are identical; then runs
# `radraft model check --reference` on the int8 bundle against the float32
# bundle's references (prompts, model input, features, first 64 tokens).
#   bench/inference/cpu_precision.sh [bundle] [runs]   (default models/demo, 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-models/demo}
n=${2:-5}
lib=${RADRAFT_ORT_LIB:-$(scripts/fetch-onnxruntime.sh)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/radraft" ./cmd/radraft
cp -r "$src" "$tmp/int8"
/usr/bin/python3 deploy/export/quantize_int8.py "$src/decoder.onnx" "$tmp/int8/decoder.onnx"
dcm=$(go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm
for i in $(seq "$n"); do
  for b in fp32 int8; do
    dir=$src; [ "$b" = int8 ] && dir=$tmp/int8
    "$tmp/radraft" draft --model "$dir" --ort-lib "$lib" --dicom "$dcm" --indication "Shortness of breath." 2>/dev/null \
      > "$tmp/$b.$i.json"
  done
done
"$tmp/radraft" model check --model "$tmp/int8" --ort-lib "$lib" --reference \
  --dicom-dir "$(dirname "$dcm")" > "$tmp/check.json" && check=pass || check=FAIL
/usr/bin/python3 - "$tmp" "$n" "$src" "$check" <<'PY'
import json, os, statistics, sys
tmp, n, src, check = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for b in ("fp32", "int8"):
    docs = [json.load(open(f"{tmp}/{b}.{i}.json")) for i in range(1, n + 1)]
    size = os.path.getsize(os.path.join(src if b == "fp32" else f"{tmp}/int8", "decoder.onnx"))
    rows[b] = (size, statistics.median(d["timings"]["prefill_ms"] for d in docs),
               statistics.median(d["timings"]["decode_tokens_per_s"] for d in docs), docs[0]["tokens"])
    print(f"{b}: decoder.onnx {size / 1024:.0f} KiB, prefill median {rows[b][1]:.0f} ms, "
          f"decode median {rows[b][2]:.1f} tokens/s, {len(rows[b][3])} tokens")
same = rows["fp32"][3] == rows["int8"][3]
print(f"size int8/fp32 {rows['int8'][0] / rows['fp32'][0]:.2f}; prefill int8/fp32 {rows['int8'][1] / rows['fp32'][1]:.2f}; "
      f"decode speed int8/fp32 {rows['int8'][2] / rows['fp32'][2]:.2f}; greedy tokens identical: {same}; "
      f"model check --reference on int8: {check}")
sys.exit(0 if same and check == "pass" else 1)
PY
