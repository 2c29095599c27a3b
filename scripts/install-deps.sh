#!/usr/bin/env bash
# Installs what radraft's tests and tools need on a fresh Debian machine:
# Debian packages (only those missing), the ONNX Runtime CPU library and the
# web UI's npm dependencies. Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, by the command or file that shows each is installed.
declare -A need=(
  [storescu]=dcmtk                     # real DICOM peers for tests
  [mllp_send]=python3-hl7              # real MLLP client for tests
  [chromium]=chromium                  # browser for UI tests
  [pg_ctlcluster]=postgresql           # throwaway cluster when none runs
  [dciodvfy]=dicom3tools               # validates the DICOM SRs radraft writes
)
declare -A needfile=(
  [/usr/lib/python3/dist-packages/torch]=python3-torch              # demo model generator
  [/usr/lib/python3/dist-packages/onnx]=python3-onnx
  [/usr/lib/python3/dist-packages/sentencepiece]=python3-sentencepiece
  [/usr/lib/python3/dist-packages/PIL]=python3-pil                  # preprocessing reference
  [/usr/lib/python3/dist-packages/pydicom]=python3-pydicom          # pixel decoding cross-check
)
missing=()
for cmd in "${!need[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}"); done
for f in "${!needfile[@]}"; do [ -e "$f" ] || missing+=("${needfile[$f]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ONNX Runtime (CPU, linux x64) from the onnxruntime-node npm tarball.
scripts/fetch-onnxruntime.sh >/dev/null

# Web UI dependencies (lockfile-exact).
if [ -f web/package-lock.json ] && [ ! -d web/node_modules ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
