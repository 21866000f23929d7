#!/usr/bin/env bash
# Prints a SQLAlchemy URL of a fresh, empty PostgreSQL database for the test suite, starting the
# local cluster when it is installed but down.
# - Not installed: prints nothing and exits 0, so `make test` runs on SQLite alone and says so
#   loudly; with ROI_REQUIRE_POSTGRES=1 (CI) that is a failure instead (exit 1).
# - Installed but unusable (it will not start or become ready, or the role or the database cannot
#   be made): exits 1 with the reason on the last line of stderr, whatever ROI_REQUIRE_POSTGRES
#   says, so `make test` fails rather than passing on SQLite alone (CONTRACT.md).
set -u
db="${ROI_TEST_DB_NAME:-roi_test}"
absent() {
  echo "test-postgres: $*" >&2
  if [ "${ROI_REQUIRE_POSTGRES:-0}" = "1" ]; then exit 1; fi
  exit 0
}
fail() {
  echo "test-postgres: $*" >&2
  exit 1
}
as_postgres() {
  if [ "$(id -u)" = "0" ]; then su postgres -c "$*"; else sudo -n -u postgres sh -c "$*"; fi
}
command -v pg_lsclusters >/dev/null 2>&1 || absent "PostgreSQL is not installed (Debian package postgresql)"
cluster=$(pg_lsclusters --no-header 2>/dev/null | head -n 1)
# pg_lsclusters without a cluster: postgresql-common alone (a server-dev package brings it in), or
# a server whose cluster was dropped; either way there is nothing to start, as when not installed
[ -n "$cluster" ] || absent "no PostgreSQL cluster exists"
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  echo "test-postgres: starting PostgreSQL $version/$name" >&2
  pg_ctlcluster "$version" "$name" start >&2 || fail "could not start PostgreSQL $version/$name"
fi
for _ in $(seq 1 30); do
  pg_isready -q -p "$port" -h /var/run/postgresql && break
  sleep 1
done
pg_isready -q -p "$port" -h /var/run/postgresql || fail "PostgreSQL did not become ready"
user=$(id -un)
# Signing in as oneself proves the role exists: only a missing one needs the postgres account,
# which a developer without sudo cannot use.
if ! psql -qw -p "$port" -h /var/run/postgresql -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
  as_postgres "psql -q -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\" | grep -q 1 \
    || createuser -p $port --superuser '$user'" >&2 || fail "could not create the role $user"
fi
dropdb -p "$port" -h /var/run/postgresql --if-exists "$db" >&2 || fail "could not drop $db"
createdb -p "$port" -h /var/run/postgresql "$db" >&2 || fail "could not create $db"
echo "postgresql+psycopg:///$db?host=/var/run/postgresql&port=$port"
