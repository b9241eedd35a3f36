#!/usr/bin/env bash
# Witness interop suite: a live `sigstack witness` against a log and a cosignature verifier that
# share no code with it (scripts/interop/witness_independent.py, written from the C2SP specs).
#
#   bash scripts/interop/witness.sh
#
# For SQLite, and for PostgreSQL too when SIGSTACK_TEST_DATABASE_URL is set (a fresh database
# is created there and dropped after), it:
#   1. makes the log's Ed25519 note key in Python and writes the witness configuration (its
#      origin and verifier key), then starts `target/debug/sigstack witness` on a free loopback
#      port (the witness makes its own Ed25519 key);
#   2. runs witness_independent.py: the log grows and every cosignature verifies there (key ID,
#      signed message, timestamp, against the key read from the witness's key file); rolled-back,
#      inconsistent, unknown, forged, malformed and oversized submissions get the spec's statuses
#      and leave the cosigned checkpoint unchanged;
#   3. starts `sigstack rekor` with that witness for its v2 log (the witness follows it through
#      the verifier key `sigstack keys public --note-name` printed, configured in step 1), logs
#      entries from Python, and checks there that /api/v2/checkpoint/witnessed catches up, signed
#      by the log and cosigned, and that /api/v2/witness-policy is the tlog-policy it computes.
#
# `cryptography` is pinned (scripts/interop/requirements-ct.txt, the CT suite's venv). The
# server is stopped and the throwaway files and database removed on any exit. Ends with one line
# on stdout, `witness-interop: N passed, M failed`. KEEP_INTEROP_DIR=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

SUITE_NAME=witness-interop
LOG_NAME="witness interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

WITNESS_PID=""
trap 'rc=$?; stop_pid "$WITNESS_PID"; drop_pg; (exit $rc); cleanup' EXIT

SECONDS=0
build_sigstack
ensure_venv venv-ct cryptography "$REPO/scripts/interop/requirements-ct.txt"
WI="$REPO/scripts/interop/witness_independent.py"
tools_ready "$("$PY" -c 'import cryptography; print("cryptography", cryptography.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-witness-interop.XXXXXX")
ORIGIN="log.example/witnessed"
NAME="witness.example/w1"
MAX_BODY=32768
REKOR_PUBLIC_URL="http://rekor.witness.test"
REKOR_ORIGIN="rekor.witness.test"

# Runs the suite against the database URL $2, in $WORK/$1.
suite() { # label database-url
    local D="$WORK/$1" port url out vkey i
    mkdir -p "$D"
    "$PY" "$WI" logkey --origin "$ORIGIN" --out "$D/log-key.raw" >"$D/log.vkey"
    "$SIGSTACK" keys generate "$D/rekor-v2.pem" --algorithm ed25519 >/dev/null 2>&1
    "$SIGSTACK" keys public "$D/rekor-v2.pem" --note-name "$REKOR_ORIGIN" >"$D/rekor-v2.vkey"
    printf '[[log]]\norigin = "%s"\nkeys = ["%s"]\n\n[[log]]\norigin = "%s"\nkeys = ["%s"]\n' \
        "$ORIGIN" "$(cat "$D/log.vkey")" "$REKOR_ORIGIN" "$(cat "$D/rekor-v2.vkey")" >"$D/witness.toml"
    port=$(free_port)
    url="http://127.0.0.1:$port"
    RUST_LOG=info "$SIGSTACK" witness --listen "127.0.0.1:$port" --database-url "$2" \
        --config "$D/witness.toml" --name "$NAME" --key "$D/witness-key.pem" \
        --max-body-bytes "$MAX_BODY" >"$D/witness.out" 2>"$WORK/witness-$1.log" &
    WITNESS_PID=$!
    require "$1: the witness starts ($url)" "$PY" "$FC" wait --url "$url/healthz" --timeout 60
    out=""
    for ((i = 0; i < 50; i++)); do
        out=$(sed -n 's/.*(verifier key: \(.*\))$/\1/p' "$D/witness.out")
        [[ -n "$out" ]] && break
        sleep 0.1
    done
    vkey=$out
    require "$1: the witness printed its verifier key" test -n "$vkey"
    check "$1: witness_independent.py (log, cosignature verifier, refusals)" \
        "$PY" "$WI" run --url "$url" --key "$D/witness-key.pem" --name "$NAME" --vkey "$vkey" \
        --origin "$ORIGIN" --log-key "$D/log-key.raw" --max-body-bytes "$MAX_BODY"

    # Our Rekor v2 log, witnessed by it (the same database).
    REKOR_PORT=$(free_port)
    REKOR_URL="http://127.0.0.1:$REKOR_PORT"
    RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$REKOR_PORT" --database-url "$2" \
        --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
        --public-url "$REKOR_PUBLIC_URL" --v2-witness "$url $vkey" --v2-witness-interval 100ms \
        >"$WORK/rekor-$1.log" 2>&1 &
    REKOR_PID=$!
    require "$1: Rekor starts with the witness ($REKOR_URL)" "$PY" "$FC" wait --url "$REKOR_URL/healthz" --timeout 60
    check "$1: Rekor v2's witnessed checkpoint and witness policy (witness_independent.py rekor)" \
        "$PY" "$WI" rekor --url "$REKOR_URL" --public-url "$REKOR_PUBLIC_URL" --origin "$REKOR_ORIGIN" \
        --log-key "$D/rekor-v2.pem" --witness-url "$url" --key "$D/witness-key.pem" --name "$NAME"
    stop_pid "$REKOR_PID"
    REKOR_PID=""
    stop_pid "$WITNESS_PID"
    WITNESS_PID=""
}

suite sqlite "sqlite://$WORK/witness.sqlite"
if [[ -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]]; then
    create_pg sigstack_witness_interop
    suite postgres "$PG_URL"
    drop_pg
else
    log "SIGSTACK_TEST_DATABASE_URL is not set: SQLite only"
fi

summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
