#!/usr/bin/env bash
# Sets up and runs radraft with its bundled defaults: the demo model, storage
# under ./data, DICOM on :11112, HL7 on :2575, the UI on http://localhost:8080.
# Uses RADRAFT_DATABASE_URL when set; else the local Postgres (creating the
# radraft database), else a throwaway cluster (see scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export RADRAFT_ORT_LIB=${RADRAFT_ORT_LIB:-$(scripts/fetch-onnxruntime.sh)}
if [ -z "${RADRAFT_DATABASE_URL:-}" ]; then
  . scripts/postgres.sh
  radraft_ensure_postgres
  psql "$PGURL_ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname='radraft'" | grep -q 1 \
    || psql "$PGURL_ADMIN" -qc "CREATE DATABASE radraft"
  export RADRAFT_DATABASE_URL=${PGURL_ADMIN/\/postgres\?/\/radraft?}
fi
if [ -f web/package.json ] && [ ! -f web/dist/index.html ]; then
  (cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
fi
mkdir -p bin data
# The pixel codecs are C/C++ libraries linked by cgo (dicom/pixels).
scripts/install-deps.sh --build-only
go build -o bin/radraft ./cmd/radraft
# First run: three demo accounts with random passwords, kept in a file only
# this user can read (never in the repository, never in the server's log).
if [ -z "$(bin/radraft user list)" ]; then
  umask 077
  : > data/initial-passwords
  for u in admin:admin rad:radiologist qa:qa_lead; do
    pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$pw" | bin/radraft user add --username "${u%%:*}" --role "${u#*:}" >/dev/null
    printf '%s\t%s\t%s\n' "${u%%:*}" "${u#*:}" "$pw" >> data/initial-passwords
  done
  echo "created users admin, rad (radiologist) and qa (qa_lead); passwords in data/initial-passwords"
else
  # Another clone (or an earlier run) created the accounts in this database:
  # none are created, and their passwords are in that clone's file only.
  users=$(bin/radraft user list | awk '{print $1}' | paste -sd, -)
  echo "accounts already exist in this database ($users): none created."
  if [ ! -f data/initial-passwords ]; then
    echo "  Their passwords are in data/initial-passwords of the clone that created them. To set one here:"
    echo "  printf '%s\n' 'a-new-password' | bin/radraft user passwd --username rad"
  fi
fi
exec bin/radraft serve "$@"
