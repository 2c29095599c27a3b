#!/usr/bin/env bash
# End to end with real peers, timed: a real `radraft serve` (demo model, CPU),
# an HL7 order sent with python-hl7's mllp_send, the testdata CR pushed with
# DCMTK's storescu (fresh study/series/instance UIDs each round, dcmodify),
# then the draft waited for in Postgres. Prints, per round and as medians,
# the time from the last C-STORE (the instance row's received_at) to the
# committed AI draft (report_versions.created_at), split into the settle
# quiet time, the queue/job start and the pipeline's own total, and the
# indication the draft used. Exits 1 when a round produces no draft or the
# draft lacks the order's indication.
#   bench/inference/e2e.sh [rounds]     (env: SETTLE=1s, RADRAFT_TEST_DATABASE_URL)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
settle=${SETTLE:-1s}
admin=${RADRAFT_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres?sslmode=disable}
export RADRAFT_ORT_LIB=${RADRAFT_ORT_LIB:-$(scripts/fetch-onnxruntime.sh)}
tmp=$(mktemp -d)
db=radraft_e2e_bench_$$
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
go build -o "$tmp/radraft" ./cmd/radraft
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
dburl=$(/usr/bin/python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$admin" "$db")
dport=$(port) mport=$(port) hport=$(port)
export RADRAFT_DATABASE_URL=$dburl RADRAFT_STORAGE_DIR=$tmp/dicom \
  RADRAFT_DICOM_ADDR=127.0.0.1:$dport RADRAFT_MLLP_ADDR=127.0.0.1:$mport RADRAFT_HTTP_ADDR=127.0.0.1:$hport \
  RADRAFT_SETTLE_QUIET=$settle RADRAFT_ORDER_WAIT=30s RADRAFT_MODEL_DIR=$PWD/models/demo
"$tmp/radraft" serve >"$tmp/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do
  curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$tmp/serve.log"; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null || { echo "radraft not ready"; tail -20 "$tmp/serve.log"; exit 1; }
cr=$(go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom)/testdata/4.dcm
results=()
for r in $(seq "$rounds"); do
  cp "$cr" "$tmp/cr.dcm"
  chmod u+w "$tmp/cr.dcm"
  dcmodify -q -nb -gst -gse -gin "$tmp/cr.dcm"
  uid=$(dcmdump +P 0020,000d -q "$tmp/cr.dcm" | sed -E 's/.*\[([0-9.]+)\].*/\1/')
  ts=$(date -u +%Y%m%d%H%M%S)
  printf 'MSH|^~\\&|RIS|BENCH|RADRAFT|BENCH|%s||ORM^O01|BENCH%s%s|P|2.3\nPID|1||BENCH-%s^^^BENCH^MR||BENCH^PATIENT||19600101|M\nORC|NW|PL%s^RIS|FL%s^RAD||SC\nOBR|1|PL%s^RIS|FL%s^RAD|71045^XR CHEST 1 VIEW^CPT4|||%s%s|^Shortness of breath.\nZDS|%s^RIS^Application^DICOM\n' \
    "$ts" "$$" "$r" "$r" "$r" "$r" "$r" "$r" "$ts" "$(printf '|%.0s' $(seq 23))" "$uid" >"$tmp/order.hl7"
  ack=$(mllp_send --loose -q -p "$mport" -f "$tmp/order.hl7" 127.0.0.1)
  case "$ack" in *"MSA|AA"*) ;; *) echo "round $r: the order was not accepted: ${ack//$'\r'/ }"; exit 1 ;; esac
  storescu -aet BENCHSCU -aec RADRAFT 127.0.0.1 "$dport" "$tmp/cr.dcm"
  row=
  for _ in $(seq 1200); do
    row=$(psql "$dburl" -tA -F' ' -c "
      SELECT round(extract(epoch FROM v.created_at - i.last)::numeric, 3),
             round(extract(epoch FROM s.settled_at - i.last)::numeric, 3),
             (v.timings->>'total_ms')::numeric, v.indication_source, v.indication = 'Shortness of breath.'
      FROM reports p JOIN report_versions v ON v.report_id = p.id AND v.kind = 'ai_draft'
      JOIN studies s ON s.study_uid = p.study_uid
      JOIN (SELECT study_uid, max(received_at) AS last FROM instances GROUP BY study_uid) i ON i.study_uid = p.study_uid
      WHERE p.study_uid = '$uid'")
    [ -n "$row" ] && break
    sleep 0.1
  done
  if [ -z "$row" ]; then
    echo "round $r: no draft for the study"; psql "$dburl" -tAc "SELECT state, state_reason FROM studies WHERE study_uid='$uid'"; tail -20 "$tmp/serve.log"; exit 1
  fi
  read -r total settled pipeline src ok <<<"$row"
  echo "round $r: last C-STORE -> draft stored ${total}s (settled after ${settled}s, pipeline ${pipeline} ms), indication from $src, matches order: $ok"
  [ "$ok" = t ] || { echo "the draft did not use the order's indication"; exit 1; }
  results+=("$total $settled $pipeline")
done
printf '%s\n' "${results[@]}" | /usr/bin/python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
m = lambda xs: statistics.median(xs)
t, s, p = m([r[0] for r in rows]), m([r[1] for r in rows]), m([r[2] / 1000 for r in rows])
q = m([r[0] - r[1] - r[2] / 1000 for r in rows])
print(f"medians over {len(rows)} rounds: last C-STORE -> stored draft {t:.3f} s; settle quiet {s:.3f} s, job start + storing {q:.3f} s, pipeline {p:.3f} s")'
