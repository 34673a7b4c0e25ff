#!/bin/sh
# The official postgres image's first-start behaviour, for images/local/postgres.Dockerfile: make
# the cluster with POSTGRES_USER as its superuser and POSTGRES_DB, then run the server as the
# postgres user (it refuses root) on every interface of the container.
set -eu
data=/var/lib/postgresql/data
as_postgres() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }

mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
    password="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD:?}" >"$password"
    chown postgres "$password"
    as_postgres initdb --pgdata="$data" --username="${POSTGRES_USER:?}" --pwfile="$password" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$password"
    echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
    as_postgres pg_ctl --pgdata="$data" --options="-c listen_addresses=''" --wait start >/dev/null
    as_postgres psql --username="$POSTGRES_USER" --dbname=postgres -v ON_ERROR_STOP=1 \
        --command="CREATE DATABASE \"${POSTGRES_DB:-$POSTGRES_USER}\"" >/dev/null
    as_postgres pg_ctl --pgdata="$data" --mode=fast --wait stop >/dev/null
fi
exec setpriv --reuid postgres --regid postgres --init-groups -- \
    postgres -D "$data" -c listen_addresses='*'
