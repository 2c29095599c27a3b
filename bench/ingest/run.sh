#!/usr/bin/env bash
# Ingest benchmark: 200 distinct CR instances (copies of suyashkumar/dicom's
# testdata/4.dcm with new UIDs, 7.5 MB each) pushed over 4 parallel storescu
# associations into (a) radraft, (b) Orthanc with its PostgreSQL index
# plugin, (c) DCMTK storescp (--fork, one process per association), all on
# this machine, one after the other, REPS times each (default 3).
#
#   bench/ingest/run.sh [REPS]
#
# PEERS (default "orthanc storescp") chooses the peers; BASELINE_BIN=path
# adds a second radraft binary (e.g. one built from an older commit) as
# "baseline", run the same way, to compare two radraft versions in one run.
#
# Needs: Go, DCMTK (storescu, storescp, echoscu), Orthanc and
# orthanc-postgresql (Debian packages), a Postgres reachable at
# RADRAFT_TEST_DATABASE_URL (default postgres://127.0.0.1:5432/postgres).
# Prints instances/s per run, medians, the ratios radraft/Orthanc and
# radraft/storescp, and radraft's peak RSS (VmHWM of the server process).
set -euo pipefail
PEERS=${PEERS:-orthanc storescp}
for need in storescu storescp echoscu; do
  command -v "$need" >/dev/null || { echo "bench/ingest: $need missing: apt-get install dcmtk" >&2; exit 1; }
done
if [[ " $PEERS " == *" orthanc "* ]]; then
  command -v Orthanc >/dev/null || { echo "bench/ingest: apt-get install orthanc orthanc-postgresql (or PEERS=storescp)" >&2; exit 1; }
  [ -e /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so ] \
    || { echo "bench/ingest: apt-get install orthanc-postgresql (or PEERS=storescp)" >&2; exit 1; }
fi
REPS=${1:-3}
N=200
PAR=4
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ADMIN=${RADRAFT_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres?sslmode=disable}
PGHOST_=$(echo "$ADMIN" | sed -E 's#^postgres(ql)?://([^@/]*@)?([^:/]+).*#\3#')
PGPORT_=$(echo "$ADMIN" | sed -E 's#^postgres(ql)?://([^@/]*@)?[^:/]+:?([0-9]*)/.*#\3#'); PGPORT_=${PGPORT_:-5432}
PGUSER_=$(echo "$ADMIN" | sed -nE 's#^postgres(ql)?://([^:@/]+)(:[^@]*)?@.*#\2#p'); PGUSER_=${PGUSER_:-postgres}
W=$(mktemp -d /tmp/radraft-bench-ingest.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
psql_admin() { psql "$ADMIN" -qtAX -c "$1" 2>/dev/null; }

echo "work dir $W"
(cd "$ROOT" && go build -o "$W/radraft" ./cmd/radraft)
for i in $(seq 0 $((PAR - 1))); do
  (cd "$ROOT" && go run ./bench/ingest/gen "$W/in/$i" $((N / PAR)))
done
echo "$N copies of 4.dcm generated ($(du -sh "$W/in" | cut -f1))"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_echo() { # aet port
  for _ in $(seq 1 300); do
    echoscu -aec "$1" 127.0.0.1 "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no C-ECHO answer from $1 on $2" >&2; return 1
}

push() { # aet port → prints seconds
  local t0 t1 fails=0
  t0=$(date +%s.%N)
  local pids=()
  for i in $(seq 0 $((PAR - 1))); do
    storescu -nh -aet BENCH -aec "$1" 127.0.0.1 "$2" +sd "$W/in/$i" >"$W/scu.$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  t1=$(date +%s.%N)
  if [ "$fails" -ne 0 ]; then echo "storescu failed against $1:" >&2; cat "$W"/scu.*.log >&2; return 1; fi
  echo "$t1 - $t0" | bc -l
}

drop_caches_hint() { sync; }

run_radraft() { # rep [binary]
  local db="radraft_bench_$$_$1" p hp pid secs bin=${2:-$W/radraft}
  psql_admin "DROP DATABASE IF EXISTS $db" ; psql_admin "CREATE DATABASE $db"
  rm -rf "$W/radraft-store"; p=$(port); hp=$(port)
  "$bin" serve --role=api --database-url="${ADMIN%/*}/$db?sslmode=disable" --storage-dir="$W/radraft-store" \
    --dicom-addr=127.0.0.1:$p --mllp-addr= --http-addr=127.0.0.1:$hp >"$W/radraft.log" 2>&1 &
  pid=$!
  wait_echo RADRAFT "$p"
  drop_caches_hint
  secs=$(push RADRAFT "$p")
  local rss; rss=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  local n; n=$(psql "${ADMIN%/*}/$db?sslmode=disable" -qtAX -c "SELECT count(*) FROM instances")
  kill -TERM $pid; wait $pid || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  [ "$n" = "$N" ] || { echo "radraft indexed $n of $N" >&2; return 1; }
  echo "$secs $rss"
}

run_orthanc() {
  local db="orthanc_bench_$$_$1" p hp pid secs
  psql_admin "DROP DATABASE IF EXISTS $db" ; psql_admin "CREATE DATABASE $db"
  rm -rf "$W/orthanc-store"; mkdir -p "$W/orthanc-store"; p=$(port); hp=$(port)
  cat >"$W/orthanc.json" <<JSON
{
  "Name": "radraft-bench",
  "StorageDirectory": "$W/orthanc-store",
  "IndexDirectory": "$W/orthanc-store",
  "StorageCompression": false,
  "DicomAet": "ORTHANC",
  "DicomPort": $p,
  "DicomCheckCalledAet": false,
  "HttpPort": $hp,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"],
  "PostgreSQL": {
    "EnableIndex": true, "EnableStorage": false,
    "Host": "$PGHOST_", "Port": $PGPORT_, "Database": "$db",
    "Username": "$PGUSER_", "Password": "", "EnableSsl": false, "Lock": false
  }
}
JSON
  Orthanc "$W/orthanc.json" >"$W/orthanc.log" 2>&1 &
  pid=$!
  wait_echo ORTHANC "$p"
  drop_caches_hint
  secs=$(push ORTHANC "$p")
  kill -TERM $pid; wait $pid || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  echo "$secs"
}

run_storescp() {
  local p pid secs
  rm -rf "$W/storescp-out"; mkdir -p "$W/storescp-out"; p=$(port)
  storescp --fork -aet STORESCP -od "$W/storescp-out" "$p" >"$W/storescp.log" 2>&1 &
  pid=$!
  wait_echo STORESCP "$p"
  drop_caches_hint
  secs=$(push STORESCP "$p")
  kill -TERM $pid; wait $pid || true
  local n; n=$(find "$W/storescp-out" -type f | wc -l)
  [ "$n" = "$N" ] || { echo "storescp wrote $n of $N" >&2; return 1; }
  echo "$secs"
}

median() { sort -g | awk '{a[NR]=$1} END{if(NR%2){print a[(NR+1)/2]}else{print (a[NR/2]+a[NR/2+1])/2}}'; }

: >"$W/r.txt"; : >"$W/o.txt"; : >"$W/s.txt"; : >"$W/b.txt"; : >"$W/rss.txt"; : >"$W/brss.txt"
# The machine is shared: each repetition runs the targets back to back, in a
# rotating order, so that load from elsewhere hits them alike.
one() {
  case $1 in
    radraft) read -r secs rss < <(run_radraft "$2"); echo "$N / $secs" | bc -l >>"$W/r.txt"; echo "$rss" >>"$W/rss.txt" ;;
    baseline) read -r secs rss < <(run_radraft "$2" "$BASELINE_BIN"); echo "$N / $secs" | bc -l >>"$W/b.txt"; echo "$rss" >>"$W/brss.txt" ;;
    orthanc) o=$(run_orthanc "$2"); echo "$N / $o" | bc -l >>"$W/o.txt" ;;
    storescp) s=$(run_storescp "$2"); echo "$N / $s" | bc -l >>"$W/s.txt" ;;
  esac
}
TARGETS=(radraft $PEERS)
[ -n "${BASELINE_BIN:-}" ] && TARGETS+=(baseline)
for r in $(seq 1 "$REPS"); do
  n=${#TARGETS[@]}
  for i in $(seq 0 $((n - 1))); do one "${TARGETS[$(((i + r - 1) % n))]}" "$r"; done
  line="rep $r:"
  for t in "${TARGETS[@]}"; do
    f=${t:0:1}; [ "$t" = baseline ] && f=b
    line="$line $t $(printf '%.1f' "$(tail -1 "$W/$f.txt")")/s"
  done
  echo "$line (radraft peak RSS $(($(tail -1 "$W/rss.txt") / 1024)) MB)"
done
R=$(median <"$W/r.txt"); RSS=$(sort -n "$W/rss.txt" | tail -1)
printf '\nmedians over %d runs (instances/s): radraft %.1f' "$REPS" "$R"
for t in $PEERS ${BASELINE_BIN:+baseline}; do
  f=${t:0:1}; [ "$t" = baseline ] && f=b
  printf '  %s %.1f' "$t" "$(median <"$W/$f.txt")"
done
echo
[[ " $PEERS " == *" orthanc "* ]] && printf 'radraft/orthanc %.2fx (floor 1.5)\n' "$(echo "$R / $(median <"$W/o.txt")" | bc -l)"
[[ " $PEERS " == *" storescp "* ]] && printf 'radraft/storescp %.2fx (floor 0.8)\n' "$(echo "$R / $(median <"$W/s.txt")" | bc -l)"
[ -n "${BASELINE_BIN:-}" ] && printf 'radraft/baseline %.2fx (baseline peak RSS %d MB)\n' "$(echo "$R / $(median <"$W/b.txt")" | bc -l)" \
  "$(($(sort -n "$W/brss.txt" | tail -1) / 1024))"
printf 'radraft peak RSS %d MB (limit 200)\n' "$((RSS / 1024))"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
