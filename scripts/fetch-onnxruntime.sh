#!/usr/bin/env bash
# Puts libonnxruntime.so for linux x64 (CPU) in radraft's cache folder and
# prints its path. The folder is the one `radraft model runtime` uses
# (inference.DefaultCacheDir: ${XDG_CACHE_HOME:-~/.cache}/radraft/onnxruntime,
# library in npm-<version>/), so the scripts and the binary share one copy.
# The library comes from the onnxruntime-node@1.30.0 npm tarball (the one
# build reachable here); `radraft model runtime` does the same in Go and also
# accepts a path or an official release archive. A copy an older checkout
# kept in .cache/onnxruntime/<version>/ is moved over instead of downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
ver=1.30.0
dir=${XDG_CACHE_HOME:-$HOME/.cache}/radraft/onnxruntime/npm-$ver
lib=$dir/libonnxruntime.so.1
legacy=.cache/onnxruntime/$ver/libonnxruntime.so.1
if [ ! -f "$lib" ]; then
  mkdir -p "$dir"
  if [ -f "$legacy" ]; then
    cp "$legacy" "$lib.tmp" && mv "$lib.tmp" "$lib"
  else
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "onnxruntime-node@$ver" >/dev/null)
    tar -xzf "$tmp"/onnxruntime-node-$ver.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    mv "$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$lib"
    rm -rf "$tmp"
  fi
fi
realpath "$lib"
