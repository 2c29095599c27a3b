# Sourced by run.sh and test.sh: makes sure a Postgres answers and exports
# PGURL_ADMIN (a superuser URL on it). Order: $RADRAFT_TEST_DATABASE_URL or a
# server on 127.0.0.1:5432; else a throwaway cluster in .cache/pg started from
# the installed PostgreSQL binaries on port 55432; else it says what to install.
radraft_pg_ready() { pg_isready -q -d "$1" 2>/dev/null || psql "$1" -tAc 'select 1' >/dev/null 2>&1; }

radraft_ensure_postgres() {
  local url=${RADRAFT_TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres?sslmode=disable}
  if radraft_pg_ready "$url"; then PGURL_ADMIN=$url; export PGURL_ADMIN; return 0; fi
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "No Postgres answers at $url and no PostgreSQL is installed." >&2
    echo "Install one:  sudo apt-get install -y postgresql   (or set RADRAFT_TEST_DATABASE_URL / RADRAFT_DATABASE_URL)" >&2
    return 1
  fi
  local data=$PWD/.cache/pg port=55432 as=()
  if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown postgres "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    "${as[@]}" "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null
  fi
  if ! radraft_pg_ready "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; then
    "${as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
    echo "started a throwaway Postgres in $data on port $port" >&2
  fi
  PGURL_ADMIN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  export PGURL_ADMIN
}
