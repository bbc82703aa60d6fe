#!/usr/bin/env bash
# Measures the release build on loopback with wrk: the seeded data set (100 users × 20 posts,
# each following 10), 2 threads, 32 connections. Prints requests/s, p99 latency, the server's
# CPU time per request and each page as a ratio of a static file (our ceiling), then the
# server's memory (after the runs, and at rest 15 s later) and start-up time.
#
# CPU per request is the figure to steer by: it is read from /proc/<pid>/stat (user + system
# time) around each run, so it does not depend on how much of the machine wrk takes.
#
#   scripts/bench.sh            # 10 s per page, on a new SQLite file
#   DURATION=30s scripts/bench.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench scripts/bench.sh   # an empty database
#   DATABASE_URL=postgres scripts/bench.sh   # a throwaway server from scripts/postgres.sh
#   BIN=/tmp/microblog-before scripts/bench.sh   # another build (say, of an older commit)
#   METRICS_ADDR=off scripts/bench.sh   # without the /metrics listener (on a free port by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
PORT=${PORT:-8077}
BASE="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null; then
    echo "Installing wrk…"
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

BIN=${BIN:-}
if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=./target/release/microblog
fi
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
case "${DATABASE_URL:-}" in
postgres) chmod 711 "$WORK"  # the postgres user must reach its folder inside
          DATABASE_URL=$(scripts/postgres.sh start "$WORK/pg")
          trap 'kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null; scripts/postgres.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
          backend=PostgreSQL ;;
postgres://*|postgresql://*) backend=PostgreSQL ;;
*) DATABASE_URL="$WORK/bench.db"; backend=SQLite ;;
esac
export DATABASE_URL LOG_DIR="$WORK/logs" PORT DEBUG=0 LOG_LEVEL=warn METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:0} \
    SECRET_KEY=benchmark-secret-key-0123456789abcdef
"$BIN" seed >/dev/null

start_ns=$(date +%s%N)
"$BIN" >"$WORK/server.out" 2>&1 &
SERVER=$!
until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.005; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

# Log in as user1 and keep the session cookie for the logged-in pages.
JAR="$WORK/cookies"
token=$(curl -s -c "$JAR" -b "$JAR" "$BASE/auth/login" | grep -o 'name="csrf_token" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -c "$JAR" -b "$JAR" -o /dev/null -d "username=user1&password=pass&csrf_token=$token" "$BASE/auth/login"
# As a browser would: the first page after login gives the new session its CSRF token. With the
# login's own cookie, every request would make a token and seal a new cookie.
curl -s -c "$JAR" -b "$JAR" -o /dev/null "$BASE/index"
session=$(awk '$6 == "microblog_session" { print $7 }' "$JAR")
[ -n "$session" ] || { echo "login failed"; exit 1; }

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }

measure() { # name path [cookie]
    local out before after
    before=$(cpu_ticks)
    if [ -n "${3:-}" ]; then
        out=$(wrk -t2 -c32 -d"$DURATION" --latency -H "Cookie: microblog_session=$3" "$BASE$2")
    else
        out=$(wrk -t2 -c32 -d"$DURATION" --latency "$BASE$2")
    fi
    after=$(cpu_ticks)
    local rps p99 errors requests cpu_us
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    requests=$(echo "$out" | awk '/requests in/ { print $1 }')
    cpu_us=$(awk -v t="$((after - before))" -v hz="$TICKS" -v n="$requests" 'BEGIN { printf "%.0f", t / hz * 1000000 / n }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
    echo "$1|$2|$rps|$p99|${errors:-0}|$cpu_us"
}

results=()
results+=("$(measure "static file" /static/style.css)")
results+=("$(measure "index (logged in)" /index "$session")")
results+=("$(measure "explore" /explore)")
results+=("$(measure "user page" /user/user50)")
results+=("$(measure "404 page" /no-such-page)")
rss_kb=$(ps -o rss= -p "$SERVER" | tr -d ' ')
sleep 15
rest_kb=$(ps -o rss= -p "$SERVER" | tr -d ' ')

ceiling=$(echo "${results[0]}" | cut -d'|' -f3)
printf '\n%s\n%-20s %-18s %12s %10s %14s %10s\n' "$backend" page path "requests/s" p99 "CPU/request" "of static"
for row in "${results[@]}"; do
    IFS='|' read -r name path rps p99 errors cpu_us <<<"$row"
    ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.1f%%", 100 * a / b }')
    printf '%-20s %-18s %12s %10s %11s µs %10s\n' "$name" "$path" "$rps" "$p99" "$cpu_us" "$ratio"
done
printf '\nserver memory: %s MB resident after the runs, %s MB at rest 15 s later; ready in %s ms\n' \
    "$((rss_kb / 1024))" "$((rest_kb / 1024))" "$ready_ms"
echo "machine: $(nproc) cores, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//')"
