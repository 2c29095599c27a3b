#!/usr/bin/env bash
# The MIMIC-CXR-JPG model-input rendering of a DICOM file, Go vs the
# published Python function (pydicom + numpy + OpenCV,
# deploy/export/mimic_cxr_jpg.py), in one run: both sides read the file,
# decode the stored values and render them (min/max scaling, inversion,
# equalizeHist). Prints both medians and the ratio, and checks that the two
# images are identical.
#   bench/inference/mimic.sh [file.dcm] [runs-per-block]   (default: the testdata CR, 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
dcm=${1:-$(go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm}
n=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/inference.test" ./inference
go build -o "$tmp/radraft" ./cmd/radraft
"$tmp/radraft" model render --dicom "$dcm" --out "$tmp/go.png"
/usr/bin/python3 deploy/export/mimic_cxr_jpg.py render "$dcm" "$tmp/py.png"
# Alternating blocks, so that a shared machine's load falls on both alike.
go_ms=() py_ms=()
for b in 1 2 3; do
  while read -r ns; do go_ms+=("$(awk -v ns="$ns" 'BEGIN{print ns/1e6}')"); done < <(
    RADRAFT_MIMIC_BENCH_DICOM="$dcm" "$tmp/inference.test" -test.run '^$' -test.bench '^BenchmarkRenderMIMICCR$' \
      -test.benchtime 1x -test.count "$n" | awk '/^BenchmarkRenderMIMICCR/ {print $3}')
  py_ms+=("$(/usr/bin/python3 deploy/export/mimic_cxr_jpg.py bench "$dcm" "$n")")
done
/usr/bin/python3 - "$tmp/go.png" "$tmp/py.png" "${#go_ms[@]}" "${go_ms[@]}" "${py_ms[@]}" <<'PY'
import json, statistics, sys
import cv2
g_img, p_img = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED), cv2.imread(sys.argv[2], cv2.IMREAD_UNCHANGED)
k = int(sys.argv[3])
gt = [float(x) for x in sys.argv[4:4 + k]]
pt = [t * 1000 for d in sys.argv[4 + k:] for t in json.loads(d)["times_s"]]
g, p = statistics.median(gt), statistics.median(pt)
diff = int((g_img.astype(int) - p_img.astype(int)).__abs__().max()) if g_img.shape == p_img.shape else None
print(f"image {g_img.shape[1]}x{g_img.shape[0]}, {len(gt)} Go runs and {len(pt)} Python runs in 3 alternating blocks")
print(f"python (pydicom+numpy+cv2): median {p:.1f} ms (min {min(pt):.1f})")
print(f"go (dicom/pixels + inference.RenderMIMICCXRJPG): median {g:.1f} ms (min {min(gt):.1f})")
print(f"speed-up: {p / g:.2f}x; images: max |go - python| = {diff}")
sys.exit(0 if diff == 0 else 1)
PY
