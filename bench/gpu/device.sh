#!/usr/bin/env bash
# On the GPU machine, once per part that bench/gpu/pack.sh made: keeps part
# K (carried in bench/gpu/carry/pK) in bench/gpu/stash (ignored, so it stays
# between calls to a machine that stays warm); once every part is there,
# unpacks them and runs run.sh with results in $OUT (a folder that comes
# back: results.tgz, summary.json, run.log) and the bundle in /tmp.
set -uo pipefail
cd "$(dirname "$0")/../.."
k=$1
mkdir -p bench/gpu/stash
cp bench/gpu/carry/p"$k"/part.* bench/gpu/stash/ || exit 1
n=$(cat bench/gpu/carry/p"$k"/parts)
have=$(ls bench/gpu/stash/part.* | wc -l)
echo "part $k kept; $have of $n here"
[ "$have" -ge "$n" ] || exit 0
unxz() { if command -v xz >/dev/null; then xz -dc; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'; fi; }
cat bench/gpu/stash/part.* | unxz | tar -x || exit 1
res=/tmp/radraft-gpu-results
rm -rf "$res"
OUT=$res WORK=/tmp/radraft-gpu-work PYTHONUNBUFFERED=1 timeout 540 bench/gpu/run.sh
rc=$?
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  tar -czf "$OUT/results.tgz" -C "$res" .
  cp "$res/summary.json" "$res/run.log" "$OUT/" 2>/dev/null
fi
exit $rc
