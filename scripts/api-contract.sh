#!/usr/bin/env bash
# The API against its own contract: starts the debug build on a free port with a fresh
# database, makes a real admin account and token, and runs schemathesis (every check) against
# /api/openapi.json. Any 5xx, or any response that does not conform, fails the run.
#
# DELETE /api/tokens revokes the token the other calls use, so it gets a run of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v schemathesis >/dev/null || python3 -m pip install --quiet schemathesis \
    || { python3 -m venv target/schemathesis && target/schemathesis/bin/pip install --quiet schemathesis \
         && export PATH="$PWD/target/schemathesis/bin:$PATH"; }
[ -x target/debug/microblog ] || cargo build --quiet

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT DATABASE_URL="$WORK/contract.db" LOG_DIR="$WORK/logs" RATE_LIMITS=0 LOG_LEVEL=warn \
    SECRET_KEY=api-contract-secret-key-0123456789abcdef
BASE="http://127.0.0.1:$PORT"
./target/debug/microblog >"$WORK/server.out" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.05; done

run() { # account, then schemathesis arguments… (an account of its own: a run may rename it)
    local name=$1 access
    shift
    curl -sf -X POST "$BASE/api/users" -H 'Content-Type: application/json' \
        -d "{\"username\": \"$name\", \"email\": \"$name@example.com\", \"password\": \"correct horse\"}" >/dev/null
    ./target/debug/microblog admin "$name" >/dev/null
    access=$(curl -sf -X POST -u "$name:correct horse" "$BASE/api/tokens" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    cp .ci/schemathesis.toml "$WORK/st.toml"
    printf '\n[auth.openapi.bearer]\nbearer = "%s"\n\n[auth.openapi.basic]\nusername = "%s"\npassword = "correct horse"\n' \
        "$access" "$name" >>"$WORK/st.toml"
    schemathesis --config-file "$WORK/st.toml" run "$BASE/api/openapi.json" --checks all \
        --max-examples 25 --generation-deterministic "$@"
}
run contract --exclude-operation-id revoke
run contract-revoke --include-operation-id revoke
