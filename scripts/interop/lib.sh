# shellcheck shell=bash
# Scaffolding shared by the interop suites that start an OIDC issuer, the CT log and the CA
# (fulcio.sh, fulcio_js.sh): counters, logging, the exit trap that stops every server, shows
# their logs on failure, removes the work directory and prints the suite's closing line, and the
# require/check helpers. Sourced, never run: set SUITE_NAME (the closing line's label, one word,
# e.g. "fulcio-interop") and LOG_NAME (the log prefix) first.

passed=0
failed=0
summary_printed=0
WORK=""
ISSUER_PID=""
CT_PID=""
FULCIO_PID=""
REKOR_PID=""
TSA_PID=""

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

stop_pid() { # pid: TERM, then KILL after 10 s; never fails
    local pid=$1 i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_pid "$TSA_PID"
    stop_pid "$REKOR_PID"
    stop_pid "$FULCIO_PID"
    stop_pid "$CT_PID"
    stop_pid "$ISSUER_PID"
    if [[ $failed -gt 0 || $rc -ne 0 ]] && [[ -n "$WORK" ]]; then
        for f in "$WORK"/*.log; do
            [[ -s "$f" ]] || continue
            log "--- last lines of ${f#"$WORK"/}"
            tail -n 20 "$f" >&2
        done
    fi
    if [[ -n "$WORK" ]]; then
        if [[ "${KEEP_INTEROP_DIR:-}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if [[ $summary_printed -eq 0 ]]; then
        printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" $((failed > 0 ? failed : 1))
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A check that the rest depends on: on failure, count it and stop.
require() { # description command...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        log "ok: $what"
    else
        failed=$((failed + 1))
        log "FAILED: $what"
        exit 1
    fi
}

# An independent check: on failure, count it and go on.
check() { # description command...
    local what=$1 t0=$SECONDS
    shift
    if "$@"; then
        passed=$((passed + 1))
        log "ok ($((SECONDS - t0))s): $what"
    else
        failed=$((failed + 1))
        log "FAILED: $what"
    fi
}

# A free loopback port (needs PY, the suite's Python).
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the test OIDC issuers (configured and rogue), `sigstack ctlog` with origin $1, and
# `sigstack fulcio` in $D, waiting for each; sets the *_PORT, *_URL and *_PID variables the
# suites and the exit trap use. Needs PY, FC (fulcio_client.py), D and SIGSTACK.
start_fulcio_stack() { # ctlog-origin
    ISSUER_PORT=$(free_port)
    ROGUE_PORT=$(free_port)
    CT_PORT=$(free_port)
    FULCIO_PORT=$(free_port)
    ISSUER_URL="http://127.0.0.1:$ISSUER_PORT"
    ROGUE_URL="http://127.0.0.1:$ROGUE_PORT"
    CT_URL="http://127.0.0.1:$CT_PORT"
    FULCIO_URL="http://127.0.0.1:$FULCIO_PORT"

    "$PY" "$FC" setup --dir "$D" --issuer-url "$ISSUER_URL"

    "$PY" "$FC" issuer --dir "$D" --port "$ISSUER_PORT" --rogue-port "$ROGUE_PORT" >"$D/issuer.log" 2>&1 &
    ISSUER_PID=$!
    RUST_LOG=warn "$SIGSTACK" ctlog --listen "127.0.0.1:$CT_PORT" --database-url "sqlite://$D/ct.sqlite" \
        --key "$D/ct.pem" --origin "$1" --root-cert "$D/root.pem" \
        >"$D/ctlog.log" 2>&1 &
    CT_PID=$!
    require "OIDC issuers start ($ISSUER_URL, $ROGUE_URL)" \
        "$PY" "$FC" wait --url "$ISSUER_URL/.well-known/openid-configuration" --timeout 30
    "$PY" "$FC" wait --url "$ROGUE_URL/jwks" --timeout 30
    require "CT log starts ($CT_URL)" "$PY" "$FC" wait --url "$CT_URL/ct/v1/get-sth" --timeout 60

    RUST_LOG=info "$SIGSTACK" fulcio --listen "127.0.0.1:$FULCIO_PORT" --config "$D/fulcio.yaml" \
        --ca-key "$D/ca-key.pem" --ca-chain "$D/root.pem" --ct-url "$CT_URL" \
        >"$D/fulcio.log" 2>&1 &
    FULCIO_PID=$!
    require "Fulcio starts ($FULCIO_URL)" "$PY" "$FC" wait --url "$FULCIO_URL/healthz" --timeout 60
}

# Starts `sigstack rekor` (v1 + v2 APIs, SQLite, keys and shard layout in $D) and waits for it;
# sets REKOR_PORT, REKOR_URL and REKOR_PID. Needs PY, FC, D and SIGSTACK.
start_rekor() {
    REKOR_PORT=$(free_port)
    REKOR_URL="http://127.0.0.1:$REKOR_PORT"
    RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$REKOR_PORT" --database-url "sqlite://$D/rekor.sqlite" \
        --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
        --url "$REKOR_URL" >"$D/rekor.log" 2>&1 &
    REKOR_PID=$!
    require "Rekor starts ($REKOR_URL)" "$PY" "$FC" wait --url "$REKOR_URL/healthz" --timeout 60
}

# Starts `sigstack tsa` (development chain made on first start, in $D) and waits for it; sets
# TSA_PORT, TSA_URL and TSA_PID. Needs PY, FC, D and SIGSTACK.
start_tsa() {
    TSA_PORT=$(free_port)
    TSA_URL="http://127.0.0.1:$TSA_PORT"
    RUST_LOG=info "$SIGSTACK" tsa --listen "127.0.0.1:$TSA_PORT" --key "$D/tsa-key.pem" \
        --cert-chain "$D/tsa-chain.pem" --dev >"$D/tsa.log" 2>&1 &
    TSA_PID=$!
    require "TSA starts ($TSA_URL)" "$PY" "$FC" wait --url "$TSA_URL/healthz" --timeout 60
}
