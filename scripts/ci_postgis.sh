#!/usr/bin/env bash
# Install and start PostgreSQL 15 + PostGIS 3 (Debian packages) and create the database the
# PostGIS tests use. Run as root on a Debian (bookworm) machine; idempotent: a second run only
# checks that the server is up and the role, database and extension exist.
#
# The DSN of the test database is the only thing printed on stdout (progress goes to stderr), so
# CI can do:
#
#     export YNPS_GEO_TEST_DSN="$(bash scripts/ci_postgis.sh)"
#
# Settings (environment): YNPS_PG_ROLE, YNPS_PG_DB (default ynps_test) and YNPS_PG_PASSWORD
# (default ynps_test: a throwaway local test database listening on 127.0.0.1 only).
set -euo pipefail

ROLE=${YNPS_PG_ROLE:-ynps_test}
DB=${YNPS_PG_DB:-ynps_test}
PASSWORD=${YNPS_PG_PASSWORD:-ynps_test}
PG_MAJOR=15

say() { echo "ci_postgis: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (it installs packages and starts the server). Fix: sudo bash $0"
  exit 1
fi
case "$ROLE$DB" in
  *[!a-z0-9_]*) say "YNPS_PG_ROLE and YNPS_PG_DB may hold only a-z, 0-9 and _"; exit 1 ;;
esac
case "$PASSWORD" in
  *"'"*) say "YNPS_PG_PASSWORD may not contain a single quote"; exit 1 ;;
esac

# 1. packages (skipped when PostGIS is already installed)
if [ ! -f "/usr/share/postgresql/$PG_MAJOR/extension/postgis.control" ]; then
  say "installing postgresql-$PG_MAJOR and postgis 3 from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends \
    "postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3" postgresql-client >&2
fi

# 2. a cluster, started
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$PG_MAJOR main"; then
  say "creating cluster $PG_MAJOR/main"
  pg_createcluster "$PG_MAJOR" main >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$PG_MAJOR" '$1 == v && $2 == "main" {print $3}')
if ! pg_lsclusters -h | awk -v v="$PG_MAJOR" '$1 == v && $2 == "main" {print $4}' \
  | grep -q online; then
  say "starting cluster $PG_MAJOR/main on port $PORT"
  pg_ctlcluster "$PG_MAJOR" main start >&2
fi
for _ in $(seq 1 30); do
  if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { say "server did not start (see /var/log/postgresql)"; exit 1; }

# 3. role, database and extension
psql_admin() { PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]; then
  say "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
else
  psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  say "creating database $DB"
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi
psql_admin -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2

DSN="postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
PGPASSWORD=$PASSWORD psql -X -q -tA "postgresql://$ROLE@127.0.0.1:$PORT/$DB" \
  -c "SELECT postgis_lib_version()" >/dev/null \
  || { say "cannot log in as $ROLE over TCP; check pg_hba.conf"; exit 1; }
say "ready: PostgreSQL $PG_MAJOR + PostGIS on 127.0.0.1:$PORT, database $DB, role $ROLE"
echo "$DSN"
