#!/usr/bin/env bash
# Starts a local PostgreSQL server on 127.0.0.1:5432 for the issuer's tests (Debian's
# cluster tools; works without systemd, e.g. in CI containers) and makes sure the role
# `tessera` (password `tessera`, may create databases) exists. Idempotent.
# Prints the URL tests read from TESSERA_TEST_POSTGRES_URL.
set -euo pipefail
# Only the URL goes to stdout (test.sh captures it); every tool's chatter goes to stderr.
exec 3>&1 1>&2

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root su postgres -s /bin/sh -c "$1"; }

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$version" ]; then
  echo "postgres.sh: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -q "^$version main$"; then
  as_root pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  # The server is a daemon that outlives this script: it must not inherit fd 3 (the
  # caller's stdout, often a pipe in `$(…)`), or the caller waits for it forever.
  as_root pg_ctlcluster "$version" main start 3>&- </dev/null
fi
for _ in $(seq 1 30); do
  as_postgres "pg_isready -q -h 127.0.0.1 -p 5432" && break
  sleep 1
done
as_postgres "psql -q -h /var/run/postgresql -tc \"SELECT 1 FROM pg_roles WHERE rolname = 'tessera'\"" | grep -q 1 \
  || as_postgres "psql -q -h /var/run/postgresql -c \"CREATE ROLE tessera LOGIN CREATEDB PASSWORD 'tessera'\""
# Databases left by earlier test runs.
for db in $(as_postgres "psql -q -h /var/run/postgresql -Atc \"SELECT datname FROM pg_database WHERE datname LIKE 'tessera_test_%'\""); do
  as_postgres "dropdb -h /var/run/postgresql --if-exists $db"
done
echo "postgres://tessera:tessera@127.0.0.1:5432/postgres" >&3
