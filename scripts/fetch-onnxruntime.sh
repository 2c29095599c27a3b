#!/usr/bin/env bash
# Puts ONNX Runtime for linux x64 in radraft's cache folder and prints the
# path of the core library to use as RADRAFT_ORT_LIB. The folder is the one
# `radraft model runtime` uses (inference.DefaultCacheDir:
# ${XDG_CACHE_HOME:-~/.cache}/radraft/onnxruntime), so the scripts and the
# binary share one copy.
#
#   scripts/fetch-onnxruntime.sh          CPU build 1.30.0 from the onnxruntime-node
#                                         npm tarball (npm-1.30.0/; what CI and
#                                         `radraft model runtime` use)
#   scripts/fetch-onnxruntime.sh --core   CPU build 1.29.0 from com.github.asus4.onnxruntime
#                                         (asus4-0.4.9/)
#   scripts/fetch-onnxruntime.sh --gpu    the same 1.29.0 core plus the CUDA 13 plugin
#                                         execution provider (libonnxruntime_providers_cuda.so,
#                                         230 MB) from com.github.asus4.onnxruntime.linux-x64-gpu,
#                                         side by side in asus4-0.4.9/ (radraft looks for the
#                                         provider beside the core library)
#
# A CPU copy an older checkout kept in .cache/onnxruntime/<version>/ is moved
# over instead of downloaded. The asus4 packages (MIT; Microsoft's release
# binaries repackaged) are fetched with `npm pack` (so the site's registry,
# proxy and credentials apply) and checked against the sha256 pinned below
# before anything is extracted.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/radraft/onnxruntime

mode=cpu
case "${1:-}" in
  "") ;;
  --core) mode=core ;;
  --gpu) mode=gpu ;;
  *) echo "usage: $0 [--core|--gpu]" >&2; exit 2 ;;
esac

if [ "$mode" = cpu ]; then
  ver=1.30.0
  dir=$cache/npm-$ver
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
  exit 0
fi

asus4=0.4.9
core_pkg=com.github.asus4.onnxruntime
core_sha=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
gpu_pkg=com.github.asus4.onnxruntime.linux-x64-gpu
gpu_sha=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
member=package/Plugins/Linux/x64
dir=$cache/asus4-$asus4

# fetch PKG SHA FILE...: npm pack PKG@asus4, check its sha256, extract the
# named files of Plugins/Linux/x64 into $dir (each once).
fetch() {
  local pkg=$1 sha=$2; shift 2
  local f missing=0
  for f in "$@"; do [ -f "$dir/$f" ] || missing=1; done
  [ $missing = 1 ] || return 0
  mkdir -p "$dir"
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$pkg@$asus4" >/dev/null)
  local tgz=$tmp/$pkg-$asus4.tgz
  echo "$sha  $tgz" | sha256sum --check --quiet - >&2 || {
    echo "fetch-onnxruntime: $pkg@$asus4 does not have the pinned sha256 $sha; refusing it" >&2
    exit 1
  }
  for f in "$@"; do
    tar -xzf "$tgz" -C "$tmp" "$member/$f"
    chmod 755 "$tmp/$member/$f"
    mv "$tmp/$member/$f" "$dir/$f"
  done
}

fetch "$core_pkg" "$core_sha" libonnxruntime.so libonnxruntime_providers_shared.so
if [ "$mode" = gpu ]; then
  fetch "$gpu_pkg" "$gpu_sha" libonnxruntime_providers_cuda.so
fi
realpath "$dir/libonnxruntime.so"
