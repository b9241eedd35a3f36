#!/usr/bin/env bash
# CT log interop suite: a live `sigstack ctlog` against clients that share no code with it.
#
#   bash scripts/interop/ctlog.sh
#
# For SQLite, and for PostgreSQL too when SIGSTACK_TEST_DATABASE_URL is set (a fresh
# database is created there and dropped after), it:
#   1. makes a throwaway ECDSA P-256 root CA and starts `target/debug/sigstack ctlog`
#      on a free loopback port, accepting that root;
#   2. submits certificates (add-chain) and precertificates (add-pre-chain), then the final
#      certificates with the SCT embedded, verifying every SCT (ct_independent.py submit);
#   3. verifies the whole log independently (ct_independent.py verify): STH signature,
#      entries, root, every inclusion and consistency proof, static-ct-api tiles;
#   4. runs certspotter (SSLMate's CT monitor, Debian's package, unmodified) from the start
#      of the log: it checks the STH signature, downloads every entry and recomputes the
#      root; its hook script reports each certificate it found;
#   5. adds a few hundred more entries (so get-entries pages), verifies again, including
#      consistency with the STH saved in step 3;
#   6. lets certspotter resume (it must extend its verified tree to the new STH), and runs
#      a fresh certspotter with -start_at_end (it rebuilds the tree from get-proof-by-hash).
#
# Tools are pinned and cached in .cache/interop/ (a Python venv with `cryptography`, and
# certspotter's Debian package unpacked, fetched with `apt-get download`). The server and
# certspotter are stopped, and the throwaway files and database removed, on any exit.
# Ends with one line on stdout, `ctlog-interop: N passed, M failed` (one word before the
# colon, as CI's plain closing-line rule asks), N counting the steps above per database.
# KEEP_INTEROP_DIR=1 keeps the work directory (logs, certspotter state) for debugging.
set -euo pipefail
# The suite's log keys are throwaway files: production commands refuse plaintext keys unless told.
export SIGSTACK_INSECURE_PLAINTEXT_KEY=1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

PY_REQS="$REPO/scripts/interop/requirements-ct.txt" # cryptography, pinned
CERTSPOTTER_VERSION="0.16.0-1" # Debian 12 (bookworm)
CACHE="$REPO/.cache/interop"

passed=0
failed=0
summary_printed=0
WORK=""
SERVER_PID=""
CS_PID=""
PG_ADMIN_URL=""
PG_DB=""

log() { printf 'ctlog interop: %s\n' "$*" >&2; }
ok() {
    passed=$((passed + 1))
    log "ok: $*"
}

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
    stop_pid "$CS_PID"
    stop_pid "$SERVER_PID"
    if [[ -n "$PG_DB" ]]; then
        psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
            >/dev/null 2>&1 || log "warning: could not drop database $PG_DB"
    fi
    if [[ $rc -ne 0 && -n "$WORK" ]]; then
        for f in "$WORK"/*/server.log "$WORK"/*/cs-*.err; do
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
    if [[ $rc -ne 0 && $summary_printed -eq 0 ]]; then
        printf 'ctlog-interop: %d passed, %d failed\n' "$passed" $((failed > 0 ? failed : 1))
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Runs a check; on failure counts it and exits (the EXIT trap prints the summary).
check() { # description command...
    local what=$1
    shift
    if "$@"; then
        ok "$what"
    else
        failed=$((failed + 1))
        log "FAILED: $what"
        exit 1
    fi
}

# --- tools -----------------------------------------------------------------------------

SECONDS=0
if [[ -n "${SIGSTACK_BIN:-}" ]]; then
    SIGSTACK=$(realpath "$SIGSTACK_BIN")
else
    log "building sigstack"
    cargo build -p sigstack --locked --quiet
    SIGSTACK="$REPO/target/debug/sigstack"
fi

mkdir -p "$CACHE"
PY_TAG="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
VENV="$CACHE/venv-py$PY_TAG"
# shellcheck source=scripts/pinned-venv.sh
source "$REPO/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$PY_REQS" "the independent verifier's Python packages" --only-binary :all:
PY="$VENV/bin/python"
CT="$REPO/scripts/interop/ct_independent.py"

CS_DIR="$CACHE/certspotter-$CERTSPOTTER_VERSION"
CERTSPOTTER="$CS_DIR/usr/bin/certspotter"
if [[ ! -x "$CERTSPOTTER" ]]; then
    log "fetching Debian's certspotter $CERTSPOTTER_VERSION into $CS_DIR"
    if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
        log "error: certspotter comes from Debian 12's packages: this needs apt-get and dpkg-deb"
        exit 1
    fi
    dl=$(mktemp -d)
    chmod 0777 "$dl" # apt's download sandbox user must be able to write there
    if ! (cd "$dl" && apt-get download -q "certspotter=$CERTSPOTTER_VERSION" >/dev/null 2>&1); then
        [[ $(id -u) -eq 0 ]] && apt-get update -q >/dev/null
        (cd "$dl" && apt-get download -q "certspotter=$CERTSPOTTER_VERSION" >/dev/null)
    fi
    rm -rf "$CS_DIR.tmp"
    dpkg-deb -x "$dl"/certspotter_*.deb "$CS_DIR.tmp"
    rm -rf "$dl"
    mv "$CS_DIR.tmp" "$CS_DIR"
fi
log "tools ready after ${SECONDS}s: $("$CERTSPOTTER" -version), $("$PY" -c 'import cryptography; print("cryptography", cryptography.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-ctlog-interop.XXXXXX")

free_port() {
    "$PY" "$REPO/scripts/free_ports.py"
}

# --- certspotter -----------------------------------------------------------------------

# One certspotter run until it has verified the STH in $D/$sth; then it is stopped and what it
# saw is checked against the log.
run_certspotter() { # D name sth-file from-index [certspotter flags...]
    local D=$1 name=$2 sth=$3 from=$4 size rc=0
    shift 4
    size=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["tree_size"])' "$D/$sth")
    local state="$D/cs-state-${name%%-*}"
    mkdir -p "$state" "$D/cs-config"
    CERTSPOTTER_CONFIG_DIR="$D/cs-config" CS_EVENTS="$D/cs-$name.events" "$CERTSPOTTER" \
        -logs "$D/loglist.json" -state_dir "$state" -watchlist "$D/watchlist" \
        -script "$D/hook.sh" -verbose "$@" \
        >"$D/cs-$name.out" 2>"$D/cs-$name.err" &
    CS_PID=$!
    "$PY" "$CT" certspotter-wait --state "$state" --pubkey "$D/log.pub.pem" \
        --stderr "$D/cs-$name.err" --size "$size" --pid "$CS_PID" --timeout 60 || rc=$?
    if kill -0 "$CS_PID" 2>/dev/null; then
        kill -TERM "$CS_PID"
        wait "$CS_PID" || rc=$? # certspotter exits 0 on SIGTERM
    else
        wait "$CS_PID" || true
        rc=1
    fi
    CS_PID=""
    [[ $rc -eq 0 ]] || return "$rc"
    "$PY" "$CT" certspotter-check --state "$state" --pubkey "$D/log.pub.pem" \
        --stderr "$D/cs-$name.err" --sth "$D/$sth" --records "$D/records.jsonl" \
        --events "$D/cs-$name.events" --from-index "$from"
}

# --- one backend -----------------------------------------------------------------------

run_backend() { # name database-url
    local name=$1 db_url=$2 D="$WORK/$1" port url
    mkdir -p "$D"
    "$PY" "$CT" ca --dir "$D" >/dev/null
    port=$(free_port)
    url="http://127.0.0.1:$port"
    RUST_LOG=warn "$SIGSTACK" ctlog --listen "127.0.0.1:$port" --database-url "$db_url" \
        --key "$D/log.pem" --origin "interop.sigstack.test/ctlog-$name" \
        --root-cert "$D/root.pem" >"$D/server.log" 2>&1 &
    SERVER_PID=$!
    check "[$name] server starts ($url)" "$PY" "$CT" wait --url "$url" --timeout 60
    "$PY" "$CT" logkey --key "$D/log.pem" --out "$D/log.pub.pem" --url "$url" \
        --log-list "$D/loglist.json" >/dev/null

    # certspotter's watch list and hook: one line per event it reports.
    echo ".interop.sigstack.test" >"$D/watchlist"
    cat >"$D/hook.sh" <<'EOF'
#!/bin/sh
printf '%s %s %s %s\n' "$EVENT" "${ENTRY_INDEX:-}" "${CERT_SHA256:-}" "${TBS_SHA256:-}" \
    >>"$CS_EVENTS"
EOF
    chmod +x "$D/hook.sh"

    local common=(--url "$url" --dir "$D" --pubkey "$D/log.pub.pem" --records "$D/records.jsonl")
    check "[$name] add-chain/add-pre-chain: 3 certificates, 3 precertificates + final certificates, SCTs verified" \
        "$PY" "$CT" submit "${common[@]}" --tag a --x509 3 --precert 3 --resubmit --negative
    check "[$name] independent verification of the tree of 9" \
        "$PY" "$CT" verify "${common[@]}" --expect-size 9 --save-sth "$D/sth1.json"
    check "[$name] certspotter from the start verifies the tree of 9 and finds all 9 certificates" \
        run_certspotter "$D" full-1 sth1.json 0

    check "[$name] add-chain: 260 more certificates (8 at a time), 2 precertificates + final" \
        "$PY" "$CT" submit "${common[@]}" --tag b --x509 260 --precert 2 --concurrency 8
    check "[$name] independent verification of the tree of 273, consistent with the tree of 9" \
        "$PY" "$CT" verify "${common[@]}" --expect-size 273 --since "$D/sth1.json" \
        --save-sth "$D/sth2.json"
    check "[$name] certspotter resumes and verifies the tree of 273 (entries 9..272)" \
        run_certspotter "$D" full-2 sth2.json 9
    check "[$name] certspotter -start_at_end verifies the tree of 273 via get-proof-by-hash" \
        run_certspotter "$D" end sth2.json 273 -start_at_end

    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

run_backend sqlite "sqlite://$WORK/ct.sqlite"

if [[ -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]]; then
    PG_ADMIN_URL=$SIGSTACK_TEST_DATABASE_URL
    PG_DB="sigstack_interop_ctlog_$$"
    psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $PG_DB" >/dev/null
    pg_url=$("$PY" -c 'import sys, urllib.parse as p; u = p.urlsplit(sys.argv[1]); print(p.urlunsplit(u._replace(path="/" + sys.argv[2])))' \
        "$PG_ADMIN_URL" "$PG_DB")
    run_backend postgres "$pg_url"
    psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE $PG_DB WITH (FORCE)" >/dev/null
    PG_DB=""
else
    log "SIGSTACK_TEST_DATABASE_URL is not set: PostgreSQL run skipped"
fi

log "done in ${SECONDS}s"
summary_printed=1
printf 'ctlog-interop: %d passed, %d failed\n' "$passed" "$failed"
