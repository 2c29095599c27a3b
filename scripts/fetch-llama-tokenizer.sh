#!/usr/bin/env bash
# Puts the npm package llama-tokenizer-js (the Llama-2 vocabulary, merges and
# test cases from the real tokenizer; MIT) under .cache/llama-tokenizer-js
# and prints the tarball's path. inference/tokenizer's TestLlamaVocabulary
# builds a SentencePiece model from it
# (inference/tokenizer/testdata/llama/make_llama_model.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ver=1.2.2
# dist.integrity of llama-tokenizer-js@1.2.2 on registry.npmjs.org
integrity=sha512-Wmth393dc3odWU3IzARJ3r2oIfWgw9GdJ5Gm+hGhfECNO18UHLRqEFSf511jn4E9KcQGzuuKw4Wl08pHAemLAw==
dir=.cache/llama-tokenizer-js
tgz=$dir/llama-tokenizer-js-$ver.tgz
if [ ! -f "$tgz" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "llama-tokenizer-js@$ver" >/dev/null)
  got=sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tmp/llama-tokenizer-js-$ver.tgz")
  if [ "$got" != "$integrity" ]; then
    echo "fetch-llama-tokenizer: llama-tokenizer-js-$ver.tgz has integrity $got, want $integrity" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mv "$tmp/llama-tokenizer-js-$ver.tgz" "$tgz"
  rm -rf "$tmp"
fi
realpath "$tgz"
