#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks, from Debian's packages.
#
#   scripts/postgres.sh start DIR [PORT]   creates a cluster in DIR (once) and starts it on
#                                          127.0.0.1 (a free port unless PORT), then prints its
#                                          URL: postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR           stops it (fast: open connections are ended)
#
# Installs the `postgresql` package when it is missing. initdb and pg_ctl refuse to run as root,
# so as root they run as the `postgres` user, which the package creates. fsync is off: the
# data is thrown away after the run.
set -euo pipefail

command=${1:?usage: postgres.sh start|stop DIR [PORT]}
dir=${2:?usage: postgres.sh start|stop DIR [PORT]}

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bindir)" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
bin=$(bindir)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$command" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
    fi
    port=${3:-$(cat "$dir/port" 2>/dev/null || python3 -c \
        'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    echo "$port" | as_owner tee "$dir/port" >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
        start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
