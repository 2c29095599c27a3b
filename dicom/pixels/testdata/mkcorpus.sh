#!/usr/bin/env bash
# Builds the codec corpus of dicom/pixels into OUT (the Go tests run it into
# a temporary directory; nothing it makes is committed):
#
#   dicom/pixels/testdata/mkcorpus.sh OUT
#
# Sources: the testdata CR of github.com/suyashkumar/dicom (2140x1760,
# MONOCHROME1, 10 of 16 bits) and the synthetic images of
# `mkfixtures -corpus` (157x119; 8, 12, 16 bits; signed and unsigned;
# MONOCHROME1/2). Each source is compressed by an outside encoder and decoded
# by an outside reference decoder:
#
#   JPEG 4.50/4.51/4.57 (predictors 1-7)/4.70   dcmcjpeg  -> dcmdjpeg
#   JPEG-LS 4.80/4.81                           dcmcjpls  -> dcmdjpls
#   RLE 1.2.5                                   dcmcrle   -> dcmdrle
#   JPEG 2000 4.90/4.91                         gdcmconv  -> gdcmconv --raw
#   HTJ2K 4.201/4.202/4.203                     ojph_compress -> ojph_expand
#   Deflated 1.2.840.10008.1.2.1.99             dcmconv +td (reference: the source)
#
# OUT/manifest.tsv lists one case a line: name, transfer syntax, compressed
# file, reference file, reference kind (dicom: a native Part 10 file;
# raw: samples as mkfixtures -raw writes them), and the largest difference
# allowed (0: pixel-exact).
# MKFIXTURES names a built mkfixtures binary (default: go run).
set -euo pipefail
out=${1:?usage: mkcorpus.sh OUT}
root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
mkfixtures() {
  if [ -n "${MKFIXTURES:-}" ]; then "$MKFIXTURES" "$@"; else (cd "$root" && go run ./dicom/pixels/internal/mkfixtures "$@"); fi
}
cr=$(cd "$root" && go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm
mkfixtures -corpus "$out/src" >/dev/null
cp "$cr" "$out/src/cr.dcm"
chmod u+w "$out/src/cr.dcm"
manifest=$out/manifest.tsv
: > "$manifest"

# case NAME TS ENCODED REFERENCE KIND [TOLERANCE]: record one corpus entry.
case_() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-0}" >> "$manifest"; }

# dcmtk NAME TS SRC ENCODER DECODER [ENCODER OPTIONS...]
dcmtk() {
  local name=$1 ts=$2 src=$3 enc=$4 dec=$5; shift 5
  "$enc" "$@" "$out/src/$src.dcm" "$out/$name.dcm"
  "$dec" "$out/$name.dcm" "$out/$name.ref.dcm"
  case_ "$name" "$ts" "$name.dcm" "$name.ref.dcm" dicom
}

all="u8 u12 s12 u16 s16 m1u12 cr"
for s in u8 u12 cr; do dcmtk "jpeg-baseline-$s" 1.2.840.10008.1.2.4.50 "$s" dcmcjpeg dcmdjpeg +eb; done
for s in u8 u12 s12 m1u12 cr; do dcmtk "jpeg-extended-$s" 1.2.840.10008.1.2.4.51 "$s" dcmcjpeg dcmdjpeg +ee; done
for sv in 1 2 3 4 5 6 7; do
  for s in u12 s16; do dcmtk "jpeg-lossless-sv$sv-$s" 1.2.840.10008.1.2.4.57 "$s" dcmcjpeg dcmdjpeg +el +sv "$sv"; done
done
for s in u8 s12 u16 m1u12 cr; do dcmtk "jpeg-lossless-sv6-$s" 1.2.840.10008.1.2.4.57 "$s" dcmcjpeg dcmdjpeg +el +sv 6; done
for s in $all; do dcmtk "jpeg-sv1-$s" 1.2.840.10008.1.2.4.70 "$s" dcmcjpeg dcmdjpeg +e1; done
for s in $all; do dcmtk "jpegls-lossless-$s" 1.2.840.10008.1.2.4.80 "$s" dcmcjpls dcmdjpls +el; done
# DCMTK refuses signed data for near-lossless.
for s in u8 u12 u16 m1u12 cr; do dcmtk "jpegls-near-$s" 1.2.840.10008.1.2.4.81 "$s" dcmcjpls dcmdjpls +en +md 3; done
for s in $all; do dcmtk "rle-$s" 1.2.840.10008.1.2.5 "$s" dcmcrle dcmdrle; done

# JPEG 2000 by GDCM (which encodes and decodes with OpenJPEG: this checks
# our framing, layout, sign and colour handling, not a second codec).
# gdcmconv rewrites the implicit-VR CR's sequences as UN of undefined length
# (CP-246), which github.com/suyashkumar/dicom cannot parse: it gets the CR
# in explicit VR (dcmconv +te) instead.
dcmconv +te "$out/src/cr.dcm" "$out/src/crx.dcm"
for s in $all; do
  [ "$s" = cr ] && s=crx
  gdcmconv -K "$out/src/$s.dcm" "$out/j2k-lossless-$s.dcm"
  gdcmconv --raw "$out/j2k-lossless-$s.dcm" "$out/j2k-lossless-$s.ref.dcm"
  case_ "j2k-lossless-$s" 1.2.840.10008.1.2.4.90 "j2k-lossless-$s.dcm" "j2k-lossless-$s.ref.dcm" dicom
done
for s in u8 u12 u16 crx; do
  gdcmconv -K --lossy -q 40 "$out/src/$s.dcm" "$out/j2k-lossy-$s.dcm" 2>/dev/null # (its lossy warning)
  gdcmconv --raw "$out/j2k-lossy-$s.dcm" "$out/j2k-lossy-$s.ref.dcm"
  case_ "j2k-lossy-$s" 1.2.840.10008.1.2.4.91 "j2k-lossy-$s.dcm" "j2k-lossy-$s.ref.dcm" dicom
done

# HTJ2K: OpenJPH encodes raw samples and decodes them again (an encoder and
# decoder independent of OpenJPEG). Unsigned sources only: OpenJPH 0.9's raw
# reader loses signed samples. Lossless must match OpenJPH exactly. The
# irreversible (9/7) transform is computed in floating point, so two
# implementations may round a few values differently: lossy files must match
# OpenJPEG's own opj_decompress exactly and OpenJPH's within 1.
htj2k() { # NAME TS SRC BITS COLS ROWS OPTIONS...
  local name=$1 ts=$2 s=$3 bits=$4 cols=$5 rows=$6; shift 6
  mkfixtures -raw "$out/src/$s.dcm" "$out/src/$s.yuv"
  ojph_compress -i "$out/src/$s.yuv" -o "$out/$name.j2c" -dims "{$cols,$rows}" -num_comps 1 -signed false \
    -bit_depth "$bits" -downsamp '{1,1}' "$@" >/dev/null
  ojph_expand -i "$out/$name.j2c" -o "$out/$name.ref.yuv" >/dev/null
  mkfixtures -wrap "$out/src/$s.dcm" "$out/$name.j2c" "$ts" "$out/$name.dcm"
  if [ "$ts" = 1.2.840.10008.1.2.4.203 ]; then
    opj_decompress -quiet -i "$out/$name.j2c" -o "$out/$name.opj.rawl" >/dev/null
    case_ "$name" "$ts" "$name.dcm" "$name.opj.rawl" raw
    case_ "$name-vs-openjph" "$ts" "$name.dcm" "$name.ref.yuv" raw 1
  else
    case_ "$name" "$ts" "$name.dcm" "$name.ref.yuv" raw
  fi
}
for s in u8:8 u12:12 u16:16 m1u12:12; do
  htj2k "htj2k-lossless-${s%%:*}" 1.2.840.10008.1.2.4.201 "${s%%:*}" "${s#*:}" 157 119 -reversible true -prog_order LRCP
done
htj2k htj2k-lossless-cr 1.2.840.10008.1.2.4.201 cr 10 1760 2140 -reversible true -prog_order LRCP
htj2k htj2k-rpcl-u12 1.2.840.10008.1.2.4.202 u12 12 157 119 -reversible true -prog_order RPCL
for s in u8:8 u12:12; do
  htj2k "htj2k-lossy-${s%%:*}" 1.2.840.10008.1.2.4.203 "${s%%:*}" "${s#*:}" 157 119 -reversible false -qstep 0.01
done
htj2k htj2k-lossy-cr 1.2.840.10008.1.2.4.203 cr 10 1760 2140 -reversible false -qstep 0.005

# Deflated explicit VR little endian: the dataset itself is compressed; the
# pixels must equal the source's.
for s in u12 s16 cr; do
  dcmconv +td "$out/src/$s.dcm" "$out/deflated-$s.dcm"
  case_ "deflated-$s" 1.2.840.10008.1.2.1.99 "deflated-$s.dcm" "src/$s.dcm" dicom
done
echo "mkcorpus: $(wc -l < "$manifest") cases in $out"
