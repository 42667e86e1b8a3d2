#!/usr/bin/env bash
# `make load`: start `watchproxy dev` on a free loopback port with a fresh data dir, run the
# locust load test headless against it, print locust's summary, and always stop dev mode (which
# stops its etcd servers). Exit status: locust's (1 if any request or watch event failed).
#
# Knobs (environment): LOAD_TIME (60s), LOAD_KUBELETS (50), LOAD_CONTROLLERS (5),
# LOAD_WRITERS (2), LOAD_SPAWN_RATE (20), LOAD_ARGS (extra locust arguments).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.venv/bin"
LOAD_TIME="${LOAD_TIME:-60s}"
KUBELETS="${LOAD_KUBELETS:-50}"
CONTROLLERS="${LOAD_CONTROLLERS:-5}"
WRITERS="${LOAD_WRITERS:-2}"
SPAWN_RATE="${LOAD_SPAWN_RATE:-20}"
USERS=$((KUBELETS + CONTROLLERS + WRITERS))

DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/watchproxy-load.XXXXXX")"
PORT="$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
HOST="http://127.0.0.1:$PORT"
DEV_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$DEV_PID" ]] && kill -0 "$DEV_PID" 2>/dev/null; then
        # SIGINT is dev mode's Ctrl-C: it stops the proxy, then every etcd it started.
        kill -INT "$DEV_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$DEV_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$DEV_PID" 2>/dev/null; then
            echo "load: watchproxy dev did not stop on SIGINT within 10 s; sending SIGTERM" >&2
            kill -TERM "$DEV_PID" 2>/dev/null || true
            sleep 3
            kill -KILL "$DEV_PID" 2>/dev/null || true
        fi
        wait "$DEV_PID" 2>/dev/null || true
    fi
    # Last resort: etcd servers of *this* run (their --data-dir is under our unique temp dir).
    local leftovers
    leftovers="$(pgrep -f -- "--data-dir=$DATA_DIR/" || true)"
    if [[ -n "$leftovers" ]]; then
        echo "load: stopping leftover etcd processes: $leftovers" >&2
        # shellcheck disable=SC2086
        kill -TERM $leftovers 2>/dev/null || true
        sleep 1
    fi
    if [[ $status -ne 0 && -f "$DATA_DIR/dev.log" ]]; then
        echo "load: --- watchproxy dev log (tail) ---" >&2
        tail -n 40 "$DATA_DIR/dev.log" >&2 || true
    fi
    rm -rf "$DATA_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "load: starting watchproxy dev on $HOST (data in $DATA_DIR)"
"$BIN/watchproxy" dev --insecure --port "$PORT" --data-dir "$DATA_DIR" --no-seed >"$DATA_DIR/dev.log" 2>&1 &
DEV_PID=$!

ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$DEV_PID" 2>/dev/null; then
        echo "load: watchproxy dev exited before becoming ready" >&2
        exit 1
    fi
    if [[ "$("$BIN/python" - "$HOST/readyz" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
        print(r.status)
except Exception:
    print(0)
EOF
)" == "200" ]]; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "load: watchproxy dev not ready after 30 s" >&2
    exit 1
fi

echo "load: $KUBELETS kubelets, $CONTROLLERS controllers, $WRITERS writers for $LOAD_TIME"
set +e
# shellcheck disable=SC2086
"$BIN/locust" -f "$ROOT/loadtests/locustfile.py" --headless --only-summary \
    -u "$USERS" -r "$SPAWN_RATE" -t "$LOAD_TIME" --host "$HOST" \
    --kubelets "$KUBELETS" --controllers "$CONTROLLERS" --writers "$WRITERS" \
    --stop-timeout 0 ${LOAD_ARGS:-}
status=$?
set -e
if grep -qE "Traceback|ERROR" "$DATA_DIR/dev.log"; then
    echo "load: watchproxy dev logged errors:" >&2
    grep -nE -A3 "Traceback|ERROR" "$DATA_DIR/dev.log" | head -n 60 >&2
fi
exit "$status"
