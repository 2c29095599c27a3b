#!/usr/bin/env bash
# Installs what radraft's tests and tools need on a fresh Debian machine:
# Debian packages (only those missing), the ONNX Runtime CPU library and the
# web UI's npm dependencies. Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Usage: scripts/install-deps.sh [--build-only]
# --build-only installs only what building the binary needs (the C/C++
# toolchain and the pixel codec libraries that dicom/pixels uses by cgo);
# scripts/run.sh calls it so when they are missing.

# What the build needs: the pixel codecs' headers and the C++ compiler.
declare -A buildfile=(
  [/usr/include/gdcm-3.0/gdcmImage.h]=libgdcm-dev                   # JPEG (baseline, extended, lossless)
  [/usr/include/openjpeg-2.5/openjpeg.h]=libopenjp2-7-dev           # JPEG 2000 and HTJ2K
  [/usr/include/charls/charls.h]=libcharls-dev                      # JPEG-LS
  [/usr/bin/g++]=g++
  [/usr/bin/pkg-config]=pkg-config
)
build_only=false
[ "${1:-}" = --build-only ] && build_only=true

# Debian packages, by the command or file that shows each is installed.
declare -A need=(
  [storescu]=dcmtk                     # real DICOM peers for tests
  [mllp_send]=python3-hl7              # real MLLP client for tests
  [chromium]=chromium                  # browser for UI tests
  [pg_ctlcluster]=postgresql           # throwaway cluster when none runs
  [dciodvfy]=dicom3tools               # validates the DICOM SRs radraft writes
  [gdcmconv]=libgdcm-tools             # JPEG 2000 encoder/reference decoder (pixels corpus)
  [ojph_compress]=openjph-tools        # HTJ2K encoder/reference decoder (pixels corpus)
  [opj_decompress]=libopenjp2-tools    # OpenJPEG's own decoder (pixels corpus, lossy HTJ2K)
)
declare -A needfile=(
  [/usr/lib/python3/dist-packages/torch]=python3-torch              # demo model generator
  [/usr/lib/python3/dist-packages/onnx]=python3-onnx
  [/usr/lib/python3/dist-packages/sentencepiece]=python3-sentencepiece
  [/usr/lib/python3/dist-packages/PIL]=python3-pil                  # preprocessing reference
  [/usr/lib/python3/dist-packages/pydicom]=python3-pydicom          # pixel decoding cross-check
  [/usr/sbin/Orthanc]=orthanc                                       # third-party PACS: receives SRs
  [/usr/share/orthanc/plugins/libOrthancDicomWeb.so]=orthanc-dicomweb # Orthanc's DICOMweb client of radraft
  [/usr/share/doc/python3-opencv]=python3-opencv                     # MIMIC-CXR-JPG rendering reference
  [/usr/lib/python3/dist-packages/numpy]=python3-numpy
)
missing=()
for f in "${!buildfile[@]}"; do [ -e "$f" ] || missing+=("${buildfile[$f]}"); done
if ! $build_only; then
  for cmd in "${!need[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}"); done
  for f in "${!needfile[@]}"; do [ -e "$f" ] || missing+=("${needfile[$f]}"); done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

$build_only && exit 0

# ONNX Runtime (CPU, linux x64) from the onnxruntime-node npm tarball, and
# the 1.29.0 core the CUDA plugin loads into (inference/ortext is tested on both).
scripts/fetch-onnxruntime.sh >/dev/null
scripts/fetch-onnxruntime.sh --core >/dev/null

# The Llama-2 vocabulary (npm llama-tokenizer-js) for the tokenizer's test.
scripts/fetch-llama-tokenizer.sh >/dev/null

# kubeconform (validates deploy/k8s offline against schemas generated from a
# pinned Kubernetes release: deploy/k8s/k8s_test.go), pinned, into .cache/bin.
kubeconform_version=v0.8.0
if ! go version -m .cache/bin/kubeconform 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*github.com/yannh/kubeconform[[:space:]]*$kubeconform_version"; then
  GOBIN="$PWD/.cache/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version"
fi

# Web UI dependencies (lockfile-exact).
# (again when package-lock.json is newer than the installed tree, e.g. a new
# dev dependency such as the API type generator)
if [ -f web/package-lock.json ] && [ ! web/node_modules/.package-lock.json -nt web/package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
