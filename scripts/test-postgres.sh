#!/usr/bin/env bash
# Prints a SQLAlchemy URL of a fresh, empty PostgreSQL database for the test suite, starting the
# local cluster when it is installed but down. Prints nothing (exit 0) when PostgreSQL is not
# installed or cannot be started, so `make test` can say so; with ROI_REQUIRE_POSTGRES=1 that is
# an error instead (exit 1).
set -u
db="${ROI_TEST_DB_NAME:-roi_test}"
fail() {
  echo "test-postgres: $*" >&2
  if [ "${ROI_REQUIRE_POSTGRES:-0}" = "1" ]; then exit 1; fi
  exit 0
}
as_postgres() {
  if [ "$(id -u)" = "0" ]; then su postgres -c "$*"; else sudo -n -u postgres sh -c "$*"; fi
}
command -v pg_lsclusters >/dev/null 2>&1 || fail "PostgreSQL is not installed (Debian package postgresql)"
cluster=$(pg_lsclusters --no-header 2>/dev/null | head -n 1)
[ -n "$cluster" ] || fail "no PostgreSQL cluster exists"
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
as_postgres "psql -q -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\" | grep -q 1 \
  || createuser -p $port --superuser '$user'" >&2 || fail "could not create the role $user"
dropdb -p "$port" -h /var/run/postgresql --if-exists "$db" >&2 || fail "could not drop $db"
createdb -p "$port" -h /var/run/postgresql "$db" >&2 || fail "could not create $db"
echo "postgresql+psycopg:///$db?host=/var/run/postgresql&port=$port"
