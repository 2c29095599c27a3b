#!/usr/bin/env bash
# DICOMweb benchmark, in one run on this machine:
#  1. ingest: the same 100 distinct CR instances (copies of suyashkumar/dicom's
#     testdata/4.dcm with new UIDs, 7.5 MB each) into a fresh radraft, once by
#     C-STORE (DCMTK storescu, one association) and once by STOW-RS (one
#     multipart/related request streamed from disk, bench/dicomweb/stow),
#     alternating which goes first, REPS times (default 3): seconds, medians,
#     ratio STOW-RS / C-STORE.
#  2. WADO-RS retrieval of one stored 7.5 MB instance (curl to /dev/null) vs
#     `cat` of the stored file to /dev/null, 30 times each, page cache warm:
#     medians and the ratio.
#
#   bench/dicomweb/run.sh [REPS]
#
# Needs: Go, DCMTK (storescu, echoscu), curl, a Postgres reachable at
# RADRAFT_TEST_DATABASE_URL (default postgres://127.0.0.1:5432/postgres).
set -euo pipefail
for need in storescu echoscu curl psql bc; do
  command -v "$need" >/dev/null || { echo "bench/dicomweb: $need missing" >&2; exit 1; }
done
REPS=${1:-3}
N=100
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ADMIN=${RADRAFT_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres?sslmode=disable}
W=$(mktemp -d /tmp/radraft-bench-dicomweb.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
psql_admin() { psql "$ADMIN" -qtAX -c "$1" 2>/dev/null; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END{if(NR%2){print a[(NR+1)/2]}else{print (a[NR/2]+a[NR/2+1])/2}}'; }

echo "work dir $W"
(cd "$ROOT" && go build -o "$W/radraft" ./cmd/radraft && go build -o "$W/stow" ./bench/dicomweb/stow)
(cd "$ROOT" && go run ./bench/ingest/gen "$W/in" $N)
echo "$N copies of 4.dcm generated ($(du -sh "$W/in" | cut -f1))"

# start_radraft NAME: a fresh database and storage; sets PID DPORT HPORT DB TOKEN
start_radraft() {
  DB="radraft_bench_dw_$$_$1"
  psql_admin "DROP DATABASE IF EXISTS $DB" ; psql_admin "CREATE DATABASE $DB"
  local url="${ADMIN%/*}/$DB?sslmode=disable"
  echo 'bench password 123' | "$W/radraft" user add --database-url="$url" --username=bench --role=radiologist >/dev/null
  TOKEN=$("$W/radraft" user token --database-url="$url" --username=bench --name=bench 2>/dev/null)
  rm -rf "$W/store"; DPORT=$(port); HPORT=$(port)
  "$W/radraft" serve --role=api --database-url="$url" --storage-dir="$W/store" \
    --dicom-addr=127.0.0.1:$DPORT --mllp-addr= --http-addr=127.0.0.1:$HPORT >"$W/radraft.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do echoscu -aec RADRAFT 127.0.0.1 "$DPORT" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "radraft did not start" >&2; cat "$W/radraft.log" >&2; return 1
}
stop_radraft() {
  local n; n=$(psql "${ADMIN%/*}/$DB?sslmode=disable" -qtAX -c "SELECT count(*) FROM instances")
  kill -TERM "$PID"; wait "$PID" || true
  psql_admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  [ "$n" = "$N" ] || { echo "radraft indexed $n of $N" >&2; return 1; }
}
cstore() {
  start_radraft "c$1"
  local t0 t1; t0=$(date +%s.%N)
  storescu -nh -aet BENCH -aec RADRAFT 127.0.0.1 "$DPORT" +sd "$W/in" >"$W/scu.log" 2>&1 || { cat "$W/scu.log" >&2; return 1; }
  t1=$(date +%s.%N)
  stop_radraft
  echo "$t1 - $t0" | bc -l >>"$W/cstore.txt"
}
stow() {
  start_radraft "s$1"
  "$W/stow" "http://127.0.0.1:$HPORT/dicomweb/studies" "$TOKEN" "$W/in" >>"$W/stow.txt"
  stop_radraft
}

: >"$W/cstore.txt"; : >"$W/stow.txt"
for r in $(seq 1 "$REPS"); do
  if [ $((r % 2)) -eq 1 ]; then cstore "$r"; stow "$r"; else stow "$r"; cstore "$r"; fi
  echo "rep $r: C-STORE $(tail -1 "$W/cstore.txt") s, STOW-RS $(tail -1 "$W/stow.txt") s"
done
mc=$(median <"$W/cstore.txt"); ms=$(median <"$W/stow.txt")
printf 'ingest of %d x 7.5 MB, median of %d: C-STORE %.2f s (%.1f inst/s), STOW-RS %.2f s (%.1f inst/s), STOW/C-STORE time ratio %.2f\n' \
  "$N" "$REPS" "$mc" "$(echo "$N / $mc" | bc -l)" "$ms" "$(echo "$N / $ms" | bc -l)" "$(echo "$ms / $mc" | bc -l)"

# WADO-RS of one instance vs cat of its file.
start_radraft wado
storescu -nh -aet BENCH -aec RADRAFT 127.0.0.1 "$DPORT" "$(ls "$W/in" | head -1 | sed "s|^|$W/in/|")" >/dev/null 2>&1
url=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HPORT/dicomweb/instances" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["00081190"]["Value"][0])')
file=$(find "$W/store" -name '*.dcm' -not -path '*/.tmp/*' | head -1)
: >"$W/wado.txt"; : >"$W/cat.txt"
# Both timed the same way (from the shell, process start included).
for _ in $(seq 1 30); do
  t0=$(date +%s.%N)
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Accept: multipart/related; type="application/dicom"' "$url"
  t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l >>"$W/wado.txt"
  t0=$(date +%s.%N); cat "$file" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l >>"$W/cat.txt"
done
bytes=$(curl -s -H "Authorization: Bearer $TOKEN" "$url" | wc -c)
mw=$(median <"$W/wado.txt"); mcat=$(median <"$W/cat.txt")
printf 'WADO-RS instance (%d bytes on the wire, file %d): median %.4f s (%.0f MB/s); cat of the file: %.4f s (%.0f MB/s); WADO/cat time ratio %.2f\n' \
  "$bytes" "$(stat -c %s "$file")" "$mw" "$(echo "$bytes / $mw / 1000000" | bc -l)" "$mcat" "$(echo "$(stat -c %s "$file") / $mcat / 1000000" | bc -l)" "$(echo "$mw / $mcat" | bc -l)"
echo "radraft peak RSS (VmHWM) during WADO: $(awk '/VmHWM/{print $2}' /proc/$PID/status) kB"
stop_radraft 2>/dev/null || true
