#!/usr/bin/env bash
# The MIMIC-CXR-JPG model-input rendering of a DICOM file, Go vs the
# published Python function (pydicom + numpy + OpenCV,
# deploy/export/mimic_cxr_jpg.py), in one run: both sides read the file,
# decode the stored values and render them (min/max scaling, inversion,
# equalizeHist). Prints wall-clock and CPU medians and their ratios (CPU
# time is the fairer one on a shared, loaded machine), and checks that the
# two images are identical.
#   bench/inference/mimic.sh [file.dcm] [runs-per-block]   (default: the testdata CR, 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
dcm=${1:-$(go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm}
n=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/mimicbench" ./bench/inference/mimicbench
"$tmp/mimicbench" -dicom "$dcm" -n 1 -out "$tmp/go.png" >/dev/null
/usr/bin/python3 deploy/export/mimic_cxr_jpg.py render "$dcm" "$tmp/py.png"
# Alternating blocks, so that a shared machine's load falls on both alike.
go_all=() py_all=()
for b in 1 2 3; do
  go_all+=("$("$tmp/mimicbench" -dicom "$dcm" -n "$n")")
  py_all+=("$(/usr/bin/python3 deploy/export/mimic_cxr_jpg.py bench "$dcm" "$n")")
done
/usr/bin/python3 - "$tmp/go.png" "$tmp/py.png" "${go_all[@]}" "${py_all[@]}" <<'PY'
import json, statistics, sys
import cv2
g_img, p_img = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED), cv2.imread(sys.argv[2], cv2.IMREAD_UNCHANGED)
docs = [json.loads(a) for a in sys.argv[3:]]
gs, ps = docs[:len(docs) // 2], docs[len(docs) // 2:]
med = lambda ds, k: statistics.median(t * 1000 for d in ds for t in d[k])
gw, pw, gc, pc = med(gs, "times_s"), med(ps, "times_s"), med(gs, "cpu_s"), med(ps, "cpu_s")
diff = int(abs(g_img.astype(int) - p_img.astype(int)).max()) if g_img.shape == p_img.shape else None
print(f"image {g_img.shape[1]}x{g_img.shape[0]}, {sum(len(d['times_s']) for d in gs)} runs each in 3 alternating blocks")
print(f"python (pydicom+numpy+cv2):                       wall median {pw:.1f} ms, CPU median {pc:.1f} ms")
print(f"go (dicom/pixels + inference.RenderMIMICCXRJPG): wall median {gw:.1f} ms, CPU median {gc:.1f} ms")
print(f"speed-up: wall {pw / gw:.2f}x, CPU {pc / gc:.2f}x; images: max |go - python| = {diff}")
sys.exit(0 if diff == 0 else 1)
PY
