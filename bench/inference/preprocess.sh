#!/usr/bin/env bash
# Preprocessing of the testdata CR in Go vs the Python reference (PIL bicubic +
# numpy), in one run: same already-decoded 8-bit display image in memory, same
# output ([3,518,518] float32). Prints both medians, the ratio and the largest
# difference between the tensors; exits 1 when Go is not >= 3x faster.
#   bench/inference/preprocess.sh [image.png] [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
img=${1:-dicom/pixels/testdata/cr_display.png}
n=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/prepbench" ./bench/inference/prepbench
# Blocks of Go and Python runs alternate, so that the load of a shared
# machine falls on both alike; the medians are over all runs.
blocks=3
go_all=() py_all=()
for b in $(seq $blocks); do
  go_all+=("$("$tmp/prepbench" -image "$img" -n "$n" -out "$tmp/go.f32")")
  py_all+=("$(/usr/bin/python3 bench/inference/preprocess_py.py "$img" "$n" "$tmp/go.f32")")
done
/usr/bin/python3 - "${go_all[@]}" "${py_all[@]}" <<'PY'
import json, statistics, sys
docs = [json.loads(a) for a in sys.argv[1:]]
gs, ps = docs[:len(docs) // 2], docs[len(docs) // 2:]
gt = [t for d in gs for t in d["times_ms"]]
pt = [t for d in ps for t in d["times_ms"]]
g, p = statistics.median(gt), statistics.median(pt)
ratio = p / g
print(f"image {gs[0]['width']}x{gs[0]['height']}, {len(gt)} runs each in {len(gs)} alternating blocks, GOMAXPROCS={gs[0]['gomaxprocs']}")
print(f"python reference (PIL+numpy): median {p:.2f} ms (min {min(pt):.2f}); per block {[round(d['median_ms'], 1) for d in ps]}")
print(f"go:                           median {g:.2f} ms (min {min(gt):.2f}); per block {[round(d['median_ms'], 1) for d in gs]}")
print(f"speed-up: {ratio:.1f}x (floor 3x)")
diff = max(d["max_abs_diff"] for d in ps)
print(f"tensor difference: max |go - python| = {diff:.3g}, {max(d['differing_values'] for d in ps)} values differ")
sys.exit(0 if ratio >= 3 and diff <= 1e-6 else 1)
PY
