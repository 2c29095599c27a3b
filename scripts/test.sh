#!/usr/bin/env bash
# Sets up and runs every test: installs missing tools (scripts/install-deps.sh),
# makes sure a Postgres answers, then runs the Go tests (real Postgres, real
# DCMTK and MLLP peers) and the web UI tests. Exits non-zero when any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
. scripts/postgres.sh
radraft_ensure_postgres
export RADRAFT_TEST_DATABASE_URL=$PGURL_ADMIN
export RADRAFT_ORT_LIB=${RADRAFT_ORT_LIB:-$(scripts/fetch-onnxruntime.sh)}
# Peers are installed above, so a test that cannot find one fails, not skips.
export RADRAFT_REQUIRE_PEERS=1
go vet ./...
go test -count=1 -timeout 40m "$@" ./...
if [ -f web/package.json ]; then
  (cd web && npm test --silent)
fi
