#!/usr/bin/env bash
# Preprocessing of the testdata CR in Go vs the Python reference (PIL bicubic +
# numpy), in one run: same already-decoded 8-bit display image in memory, same
# output ([3,518,518] float32). Prints both medians, the ratio and the largest
# difference between the tensors; exits 1 when Go is not >= 3x faster.
#   bench/inference/preprocess.sh [image.png] [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
img=${1:-dicom/pixels/testdata/cr_display.png}
n=${2:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/prepbench" ./bench/inference/prepbench
go_json=$("$tmp/prepbench" -image "$img" -n "$n" -out "$tmp/go.f32")
py_json=$(/usr/bin/python3 bench/inference/preprocess_py.py "$img" "$n" "$tmp/go.f32")
/usr/bin/python3 - "$go_json" "$py_json" <<'PY'
import json, sys
g, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = p["median_ms"] / g["median_ms"]
print(f"image {g['width']}x{g['height']}, {g['runs']} runs each, GOMAXPROCS={g['gomaxprocs']}")
print(f"python reference (PIL+numpy): median {p['median_ms']:.2f} ms (min {p['min_ms']:.2f})")
print(f"go:                           median {g['median_ms']:.2f} ms (min {g['min_ms']:.2f})")
print(f"speed-up: {ratio:.1f}x (floor 3x)")
print(f"tensor difference: max |go - python| = {p['max_abs_diff']:.3g}, {p['differing_values']} values differ")
sys.exit(0 if ratio >= 3 and p["max_abs_diff"] <= 1e-6 else 1)
PY
