#!/usr/bin/env bash
# Runs the non-DICOM attacks of issue 10 (bench/hostile/main.go) against a
# radraft binary on a fresh database: `bench/hostile/run.sh [path/to/radraft]`
# (default: builds this checkout). Needs Postgres (RADRAFT_TEST_DATABASE_URL,
# a superuser URL) and psql. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
ADMIN=${RADRAFT_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres?sslmode=disable}
TMP=$(mktemp -d)
BIN=${1:-}
if [ -z "$BIN" ]; then BIN=$TMP/radraft; go build -o "$BIN" ./cmd/radraft; fi
DB=radraft_hostile_$$
DBURL=${ADMIN/\/postgres\?/\/$DB?}
psql -q "$ADMIN" -c "CREATE DATABASE $DB"
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
MLLP=127.0.0.1:$(free) HTTP=127.0.0.1:$(free) DICOM=127.0.0.1:$(free)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$TMP"
}
trap cleanup EXIT
RADRAFT_DATABASE_URL=$DBURL RADRAFT_ROLE=api RADRAFT_MLLP_ADDR=$MLLP RADRAFT_HTTP_ADDR=$HTTP \
  RADRAFT_DICOM_ADDR=$DICOM RADRAFT_STORAGE_DIR=$TMP/dicom "$BIN" serve >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "http://$HTTP/healthz" >/dev/null && break; sleep 0.2; done
echo 'rad1-password-hostile' | RADRAFT_DATABASE_URL=$DBURL "$BIN" user add --username rad1 --role radiologist >/dev/null
UID_=1.2.826.0.1.3680043.8.498.777
psql -q "$DBURL" <<SQL
INSERT INTO studies (study_uid, state, settled_at, instance_count) VALUES ('$UID_', 'drafted', now(), 1);
INSERT INTO reports (id, study_uid, status, current_version, ai_version) VALUES (gen_random_uuid(), '$UID_', 'draft', 1, 1);
INSERT INTO report_versions (report_id, version, kind, author, findings) SELECT id, 1, 'ai_draft', 'ai', 'No effusion.' FROM reports;
SQL
go run ./bench/hostile -mllp "$MLLP" -http "$HTTP" -pid "$PID" -user rad1 -password rad1-password-hostile -study "$UID_" \
  -db-drop-cmd "psql -q '$ADMIN' -c 'DROP DATABASE $DB WITH (FORCE)'"
if ! kill -0 "$PID" 2>/dev/null; then echo "radraft exited during the run:"; tail -20 "$TMP/serve.log"; fi
