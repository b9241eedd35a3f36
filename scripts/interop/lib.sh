# shellcheck shell=bash
# Scaffolding shared by the interop suites (fulcio.sh, fulcio_js.sh, fulcio_oidc_provider.sh,
# rekor.sh, rekor_js.sh, e2e.sh, tuf.sh): counters, logging, the exit trap that stops every
# server, shows their logs on failure, removes the work directory and prints the suite's closing
# line, the require/check helpers, the servers the suites start, and the tools they run
# (building sigstack, the pinned Python venvs, the pinned npm installs), all cached in
# .cache/interop/. Sourced, never run: set REPO (the repository root), SUITE_NAME (the closing
# line's label, one word, e.g. "fulcio-interop") and LOG_NAME (the log prefix) first.

# shellcheck source=scripts/pinned-venv.sh
source "$REPO/scripts/pinned-venv.sh"

# Where the pinned tools live between runs.
CACHE="$REPO/.cache/interop"
# The sigstore-python helper every sigstore-python suite (and start_fulcio_stack) runs.
FC="$REPO/scripts/interop/fulcio_client.py"

# sigstore-python and its whole dependency closure, pinned: one venv for every suite using it.
SIGSTORE_PY_REQS="$REPO/scripts/interop/requirements-sigstore.txt"

# The suites test protocols with throwaway keys they make as files: production commands refuse
# plaintext keys unless told (e2e.sh also runs with encrypted keys and with keys in SoftHSM2).
export SIGSTACK_INSECURE_PLAINTEXT_KEY=1


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

# Free loopback ports for every listener of `sigstack up`, exported as the SIGSTACK_*_LISTEN
# variables `up` reads, and their base URLs: CT_URL, FULCIO_URL, REKOR_URL, TSA_URL, TUF_URL,
# ISSUER_URL (also exported as SIGSTACK_DEV_ISSUER_URL) and EXPLORER_URL.
up_listen_on_free_ports() {
    local svc
    for svc in CTLOG FULCIO REKOR TSA TUF DEV_ISSUER EXPLORER WITNESS; do
        export "SIGSTACK_${svc}_LISTEN=127.0.0.1:$(free_port)"
    done
    CT_URL="http://$SIGSTACK_CTLOG_LISTEN"
    FULCIO_URL="http://$SIGSTACK_FULCIO_LISTEN"
    REKOR_URL="http://$SIGSTACK_REKOR_LISTEN"
    TSA_URL="http://$SIGSTACK_TSA_LISTEN"
    # shellcheck disable=SC2034 # read by the suites
    TUF_URL="http://$SIGSTACK_TUF_LISTEN"
    ISSUER_URL="http://$SIGSTACK_DEV_ISSUER_LISTEN"
    # shellcheck disable=SC2034 # read by the suites
    EXPLORER_URL="http://$SIGSTACK_EXPLORER_LISTEN"
    # shellcheck disable=SC2034 # read by the suites
    WITNESS_URL="http://$SIGSTACK_WITNESS_LISTEN"
    export SIGSTACK_DEV_ISSUER_URL="$ISSUER_URL"
}

# A throwaway PostgreSQL database on SIGSTACK_TEST_DATABASE_URL's server, named $1_<pid>: sets
# PG_ADMIN_URL, PG_DB and PG_URL (the admin URL naming the new database). drop_pg removes it
# (call it from the suite's EXIT trap too); it never fails.
PG_ADMIN_URL=""
PG_DB=""
# shellcheck disable=SC2034 # read by the suites
PG_URL=""
create_pg() { # name-prefix
    PG_ADMIN_URL=$SIGSTACK_TEST_DATABASE_URL
    PG_DB="$1_$$"
    psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $PG_DB"
    # shellcheck disable=SC2034 # read by the suites
    PG_URL=$("$PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
}

drop_pg() {
    if [[ -n "$PG_DB" ]]; then
        psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
            >/dev/null 2>&1 || log "warning: could not drop database $PG_DB"
        PG_DB=""
    fi
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

# --- tools -----------------------------------------------------------------------------

# Sets SIGSTACK: $SIGSTACK_BIN when set (scripts/test.sh passes the binary `cargo test` built,
# so that no second build with other features runs), else builds target/debug/sigstack.
build_sigstack() {
    if [[ -n "${SIGSTACK_BIN:-}" ]]; then
        SIGSTACK=$(realpath "$SIGSTACK_BIN")
        return
    fi
    log "building sigstack"
    cargo build -p sigstack --locked --quiet
    SIGSTACK="$REPO/target/debug/sigstack"
}

# A Python venv in $CACHE/NAME holding exactly the pins of the requirements file REQS (installed
# without dependency resolution, then `pip check`ed): made once, reused while REQS is unchanged
# (its hash is stamped in the venv), remade when it changes; sets VENV and PY.
ensure_venv() { # name label reqs
    VENV="$CACHE/$1"
    pinned_venv "$VENV" "$3" "$2" --only-binary :all: --no-deps
    PY="$VENV/bin/python"
}

# sigstore-python (scripts/interop/requirements-sigstore.txt) in $CACHE/venv-sigstore; sets
# VENV and PY.
ensure_sigstore_python() {
    ensure_venv venv-sigstore sigstore-python "$SIGSTORE_PY_REQS"
}

# The npm packages pinned by SRC_DIR's package.json + package-lock.json, installed by `npm ci`
# into $CACHE/CACHE_NAME and reinstalled when either file (or the node binary) changes; sets
# NODE_DIR. LABEL names them in the log (default: CACHE_NAME).
ensure_node_packages() { # src-dir cache-name [label]
    local src=$1 label=${3:-$2} stamp
    NODE_DIR="$CACHE/$2"
    mkdir -p "$CACHE"
    stamp=$(cat "$src/package.json" "$src/package-lock.json" "$(command -v node)" | sha256sum | cut -d' ' -f1)
    if [[ "$(cat "$NODE_DIR/.stamp" 2>/dev/null)" != "$stamp" ]]; then
        log "installing $label (pinned) into $NODE_DIR"
        rm -rf "$NODE_DIR"
        mkdir -p "$NODE_DIR"
        cp "$src/package.json" "$src/package-lock.json" "$NODE_DIR/"
        npm ci --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
        printf '%s' "$stamp" >"$NODE_DIR/.stamp"
    fi
}

# Logs how long getting the tools took (SECONDS, reset by the suite), and what they are.
tools_ready() { # [description]
    log "tools ready after ${SECONDS}s${1:+: $1}"
}

# --- checks ----------------------------------------------------------------------------

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
# A loopback port free now (scripts/free_ports.py: below the ephemeral range, which outgoing
# connections take their ports from).
free_port() {
    "$PY" "$(dirname "${BASH_SOURCE[0]}")/../free_ports.py"
}

# Launches `sigstack ctlog` with origin $1 (SQLite, ct.pem and root.pem in $D) without waiting
# for it (wait_ctlog does); sets CT_PORT, CT_URL and CT_PID. Needs PY, D and SIGSTACK. A suite
# may set CT_KEY (instead of ct.pem) and CTLOG_FLAGS (more flags).
launch_ctlog() { # origin
    CT_PORT=$(free_port)
    CT_URL="http://127.0.0.1:$CT_PORT"
    RUST_LOG=warn "$SIGSTACK" ctlog --listen "127.0.0.1:$CT_PORT" --database-url "sqlite://$D/ct.sqlite" \
        --key "${CT_KEY:-$D/ct.pem}" --origin "$1" --root-cert "$D/root.pem" ${CTLOG_FLAGS[@]+"${CTLOG_FLAGS[@]}"} \
        >"$D/ctlog.log" 2>&1 &
    CT_PID=$!
}

# The independent CT client's CA in DIR (ct_independent.py ca: root.pem and the log's log.pem)
# and a `sigstack ctlog` accepting that root on a free port, not waited for; logs to
# $WORK/ctlog.log (shown when the suite fails). Sets CT, CT_PORT, CT_URL and CT_PID. Needs PY
# (with cryptography), REPO, WORK and SIGSTACK.
launch_independent_ctlog() { # dir origin database-url [more ctlog flags...]
    local dir=$1 origin=$2 db_url=$3
    shift 3
    CT="$REPO/scripts/interop/ct_independent.py"
    mkdir -p "$dir"
    "$PY" "$CT" ca --dir "$dir" >/dev/null
    CT_PORT=$(free_port)
    CT_URL="http://127.0.0.1:$CT_PORT"
    RUST_LOG=warn "$SIGSTACK" ctlog --listen "127.0.0.1:$CT_PORT" --database-url "$db_url" \
        --key "$dir/log.pem" --origin "$origin" --root-cert "$dir/root.pem" "$@" \
        >"$WORK/ctlog.log" 2>&1 &
    CT_PID=$!
}

wait_ctlog() {
    require "CT log starts ($CT_URL)" "$PY" "$FC" wait --url "$CT_URL/ct/v1/get-sth" --timeout 60
}

# Starts `sigstack fulcio` (fulcio.yaml, ca-key.pem and root.pem in $D, logging to CT_URL) and
# waits for it; sets FULCIO_PORT, FULCIO_URL and FULCIO_PID. Needs PY, FC, D and SIGSTACK. A
# suite may set FULCIO_FLAGS (more flags).
start_fulcio() {
    FULCIO_PORT=$(free_port)
    FULCIO_URL="http://127.0.0.1:$FULCIO_PORT"
    RUST_LOG=info "$SIGSTACK" fulcio --listen "127.0.0.1:$FULCIO_PORT" --config "$D/fulcio.yaml" \
        --ca-key "$D/ca-key.pem" --ca-chain "$D/root.pem" --ct-url "$CT_URL" ${FULCIO_FLAGS[@]+"${FULCIO_FLAGS[@]}"} \
        >"$D/fulcio.log" 2>&1 &
    FULCIO_PID=$!
    require "Fulcio starts ($FULCIO_URL)" "$PY" "$FC" wait --url "$FULCIO_URL/healthz" --timeout 60
}

# Starts the test OIDC issuers (configured and rogue), `sigstack ctlog` with origin $1, and
# `sigstack fulcio` in $D, waiting for each; sets the *_PORT, *_URL and *_PID variables the
# suites and the exit trap use. Needs PY, FC (fulcio_client.py), D and SIGSTACK.
start_fulcio_stack() { # ctlog-origin
    ISSUER_PORT=$(free_port)
    ROGUE_PORT=$(free_port)
    ISSUER_URL="http://127.0.0.1:$ISSUER_PORT"
    ROGUE_URL="http://127.0.0.1:$ROGUE_PORT"

    "$PY" "$FC" setup --dir "$D" --issuer-url "$ISSUER_URL"

    "$PY" "$FC" issuer --dir "$D" --port "$ISSUER_PORT" --rogue-port "$ROGUE_PORT" >"$D/issuer.log" 2>&1 &
    ISSUER_PID=$!
    launch_ctlog "$1"
    require "OIDC issuers start ($ISSUER_URL, $ROGUE_URL)" \
        "$PY" "$FC" wait --url "$ISSUER_URL/.well-known/openid-configuration" --timeout 30
    "$PY" "$FC" wait --url "$ROGUE_URL/jwks" --timeout 30
    wait_ctlog
    start_fulcio
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
