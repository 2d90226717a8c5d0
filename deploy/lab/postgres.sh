#!/bin/sh
# A throw-away PostgreSQL cluster on loopback, for the history store's tests and for trying auditor.
#
#   deploy/lab/postgres.sh start DIR PORT   # initdb DIR/data, start on 127.0.0.1:PORT, create database "auditor"
#   deploy/lab/postgres.sh stop DIR         # stop the cluster started in DIR (DIR is left for the caller to remove)
#
# The server trusts loopback connections (user "postgres", no password): it is a lab, never a
# deployment. initdb refuses to run as root, so as root the cluster runs as the "postgres" user
# (runuser), which must be able to traverse DIR. Debian's "postgresql" package is installed with
# apt-get only when no initdb/pg_ctl is found under /usr/lib/postgresql/*/bin.
set -eu

die() { echo "postgres.sh: $*" >&2; exit 1; }

find_bindir() {
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

bindir() {
    if dir=$(find_bindir); then echo "$dir"; return 0; fi
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root"
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; } \
        || die "apt-get install postgresql failed"
    find_bindir || die "postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
}

# Run a PostgreSQL program as the cluster's owner: "postgres" when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

make_traversable() {
    # The postgres user needs search (x) permission on every folder above DIR; add only that bit.
    path=$1
    while [ "$path" != "/" ] && [ -n "$path" ]; do
        path=$(dirname "$path")
        if ! as_owner test -x "$path"; then chmod o+x "$path"; fi
    done
}

start() {
    dir=$1 port=$2
    bin=$(bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the cluster as"
        chown postgres: "$dir"
        chmod 700 "$dir"
        make_traversable "$dir"
    fi
    [ -e "$dir/data/PG_VERSION" ] || as_owner "$bin/initdb" -D "$dir/data" --no-sync -A trust -U postgres \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || die "initdb failed: $(tail -n 3 "$dir/initdb.log")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null || die "pg_ctl start failed on port $port: $(tail -n 3 "$dir/server.log")"
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -t -A \
        -c "SELECT 1 FROM pg_database WHERE datname = 'auditor'" | grep -q 1 \
        || as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres auditor \
        || die "createdb auditor failed"
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/auditor"
}

stop() {
    dir=$1
    [ -e "$dir/data/postmaster.pid" ] || exit 0
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null || die "pg_ctl stop failed in $dir"
}

case "${1:-}" in
    start) [ $# -eq 3 ] || die "usage: postgres.sh start DIR PORT"; start "$2" "$3" ;;
    stop) [ $# -eq 2 ] || die "usage: postgres.sh stop DIR"; stop "$2" ;;
    *) die "usage: postgres.sh start DIR PORT | stop DIR" ;;
esac
