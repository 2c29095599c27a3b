#!/usr/bin/env bash
# Puts libonnxruntime.so for linux x64 (CPU) under .cache/onnxruntime and
# prints its path. The library comes from the onnxruntime-node@1.30.0 npm
# tarball (the one build reachable here); `radraft model runtime` does the
# same in Go and also accepts a path or an official release archive.
set -euo pipefail
cd "$(dirname "$0")/.."
ver=1.30.0
dir=.cache/onnxruntime/$ver
lib=$dir/libonnxruntime.so.1
if [ ! -f "$lib" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ver" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-$ver.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  mv "$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$lib"
  rm -rf "$tmp"
fi
realpath "$lib"
