#!/usr/bin/env bash
# Makes the example chest X-rays that examples/orm-o01.hl7 and
# examples/omi-o23.hl7 order, from the real CR in github.com/suyashkumar/dicom's
# testdata (4.dcm: a de-identified COVID-19-AR CR, MONOCHROME1, 2140x1760,
# Pixel Spacing 0.20 mm) with DCMTK's dcmodify: one study per order, each with
# its own accession number, study/series/instance UIDs and study date, and
# the same example patient (so that one is the other's prior).
#
#   examples/make-sample-crs.sh [OUTDIR]      # default: examples/out
#
# Writes OUTDIR/sample-cr-orm.dcm (accession RAD-EX-0001, 2025-06-02) and
# OUTDIR/sample-cr-omi.dcm (accession RAD-EX-0002, 2026-11-30). The pixels
# are untouched; the files are not committed (7 MB each) but rebuilt the same
# way every time: fixed UIDs under the 2.25 (UUID) root, no random values
# (dcmodify updates the meta header's Media Storage SOP Instance UID too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/out}
command -v dcmodify >/dev/null || { echo "dcmodify (DCMTK) is missing: apt-get install dcmtk" >&2; exit 1; }
src=$(cd "$here/.." && go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm
[ -r "$src" ] || { echo "missing $src (go mod download)" >&2; exit 1; }
mkdir -p "$out"

# make NAME ACCESSION DATE STUDY_UID SERIES_UID SOP_UID DESCRIPTION
make() {
  local f=$out/$1
  cp "$src" "$f"
  chmod u+w "$f"
  dcmodify -q -nb -ie \
    -i "(0008,0050)=$2" \
    -i "(0008,0020)=$3" -i "(0008,0030)=091500" \
    -i "(0020,000d)=$4" -i "(0020,000e)=$5" \
    -i "(0008,0018)=$6" \
    -i "(0008,1030)=$7" \
    -i "(0018,5101)=PA" \
    -i "(0010,0010)=EXAMPLE^ALEX" -i "(0010,0020)=EX-MRN-0001" -i "(0010,0030)=19600101" \
    "$f"
  echo "$f"
}
make sample-cr-orm.dcm RAD-EX-0001 20250602 \
  2.25.301728395614972309841726354092871620001 2.25.301728395614972309841726354092871620002 \
  2.25.301728395614972309841726354092871620003 "XR CHEST PA"
make sample-cr-omi.dcm RAD-EX-0002 20261130 \
  2.25.301728395614972309841726354092871620011 2.25.301728395614972309841726354092871620012 \
  2.25.301728395614972309841726354092871620013 "XR CHEST PA"
