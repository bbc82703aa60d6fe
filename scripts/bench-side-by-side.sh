#!/usr/bin/env bash
# Two builds side by side on SQLite: each seeded and logged in as user1, then alternating 2 s wrk
# bursts (2 threads, 32 connections), ROUNDS of them per page and build. Prints each build's
# server CPU per request and requests/s for the static file and the pages.
#
# This machine's mood moves CPU time by ±15-25 % from one minute to the next, more than most
# changes save; alternating short bursts puts both builds through the same minutes, which two
# runs of scripts/bench.sh one after the other do not.
#
#   scripts/bench-side-by-side.sh /tmp/before/target/release/microblog ./target/release/microblog
#   ROUNDS=20 scripts/bench-side-by-side.sh A B /index /explore
#
# Each binary runs from the checkout it was built in (two folders up from target/release), so
# that it reads its own templates and static files.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BINARY_A BINARY_B [path ...]" >&2; exit 2; }
A=$(realpath "$1"); B=$(realpath "$2"); shift 2
PAGES=("$@"); [ ${#PAGES[@]} -gt 0 ] || PAGES=(/static/style.css /index /explore /user/user50)
ROUNDS=${ROUNDS:-10}
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bench.sh once, or apt-get install wrk" >&2; exit 2; }

WORK=$(mktemp -d); PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
TICKS=$(getconf CLK_TCK)

start() { # name binary port
    local dir="$WORK/$1" checkout jar token
    checkout=$(dirname "$(dirname "$(dirname "$2")")")
    mkdir -p "$dir"
    export DATABASE_URL="$dir/bench.db" LOG_DIR="$dir/logs" PORT=$3 DEBUG=0 LOG_LEVEL=warn \
        METRICS_ADDR=127.0.0.1:0 SECRET_KEY=benchmark-secret-key-0123456789abcdef
    (cd "$checkout" && "$2" seed >/dev/null)
    (cd "$checkout" && exec "$2" >"$dir/server.out" 2>&1) &
    PIDS+=($!); echo $! >"$dir/pid"
    until curl -sf "http://127.0.0.1:$3/healthz" >/dev/null; do sleep 0.01; done
    jar="$dir/cookies"
    token=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$3/auth/login" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"$//')
    curl -s -c "$jar" -b "$jar" -o /dev/null -d "username=user1&password=pass&csrf_token=$token" "http://127.0.0.1:$3/auth/login"
    # As a browser would: the first page after login gives the new session its CSRF token.
    curl -s -c "$jar" -b "$jar" -o /dev/null "http://127.0.0.1:$3/index"
    awk '$6 == "microblog_session" { print $7 }' "$jar" >"$dir/session"
}

start a "$A" 8191
start b "$B" 8192

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$WORK/$1/pid")/stat"; }

burst() { # name port path: prints "ticks requests"
    local before after requests
    before=$(cpu_ticks "$1")
    requests=$(wrk -t2 -c32 -d2s -H "Cookie: microblog_session=$(cat "$WORK/$1/session")" \
        "http://127.0.0.1:$2$3" | awk '/requests in/ { print $1 }')
    after=$(cpu_ticks "$1")
    echo "$((after - before)) $requests"
}

printf '%-20s %16s %12s %16s %12s\n' path "A CPU/request" "A req/s" "B CPU/request" "B req/s"
for path in "${PAGES[@]}"; do
    ta=0 na=0 tb=0 nb=0
    for _ in $(seq "$ROUNDS"); do
        read -r t n < <(burst a 8191 "$path"); ta=$((ta + t)); na=$((na + n))
        read -r t n < <(burst b 8192 "$path"); tb=$((tb + t)); nb=$((nb + n))
    done
    awk -v p="$path" -v ta=$ta -v na=$na -v tb=$tb -v nb=$nb -v hz="$TICKS" -v s=$((2 * ROUNDS)) \
        'BEGIN { printf "%-20s %13.0f µs %12.0f %13.0f µs %12.0f\n", p, ta/hz*1e6/na, na/s, tb/hz*1e6/nb, nb/s }'
done
