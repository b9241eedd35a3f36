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
#      by the log and cosigned, and that /api/v2/witness-policy is the tlog-policy it computes;
#   4. restarts that Rekor with --v2-witness-mode fail-closed, its witness unreachable: a write
#      is 503 with Retry-After and logged all the same; then with the witness: the retry is 409,
#      a new write 201 whose inclusion proof and cosigned checkpoint verify in Python under
#      /api/v2/witness-policy.
# Then (once) a `sigstack up`: its Rekor v2, Rekor v1 and CT log's witnessed checkpoints are
# cosigned by the witness `up` runs with the key in its data directory, and python-tuf
# (pinned, its own venv) bootstrapped from up's root.json downloads the logs' witness policies,
# TUF targets `witness-policy-rekor-v2.txt`, `witness-policy-rekor-v1.txt` and
# `witness-policy-ctlog.txt`.
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
UP_PID=""
trap 'rc=$?; stop_pid "$WITNESS_PID"; stop_pid "$UP_PID"; drop_pg; (exit $rc); cleanup' EXIT

SECONDS=0
build_sigstack
# python-tuf's venv for the TUF targets of `up` (its own pins), then the suite's.
ensure_venv venv-tuf python-tuf "$REPO/scripts/interop/requirements-tuf.txt"
TUF_PY=$PY
TC="$REPO/scripts/interop/tuf_client.py"
ensure_venv venv-ct cryptography "$REPO/scripts/interop/requirements-ct.txt"
WI="$REPO/scripts/interop/witness_independent.py"
tools_ready "$("$PY" -c 'import cryptography; print("cryptography", cryptography.__version__)'), $("$TUF_PY" -c 'import tuf; print("python-tuf", tuf.__version__)')"

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

    # The same Rekor, fail-closed: first with its witness unreachable (a port nothing listens
    # on), then with it.
    local down
    down="http://127.0.0.1:$(free_port)"
    fail_closed_rekor "$1" "$2" "$down $vkey"
    check "$1: fail-closed, witness down: 503 with Retry-After, the entry logged (witness_independent.py fail-closed)" \
        "$PY" "$WI" fail-closed --url "$REKOR_URL" --phase down --state "$D/refused-entry.json"
    stop_pid "$REKOR_PID"
    fail_closed_rekor "$1" "$2" "$url $vkey"
    check "$1: fail-closed, witness up: the retry is 409, a new entry 201 with a checkpoint meeting the policy" \
        "$PY" "$WI" fail-closed --url "$REKOR_URL" --phase up --state "$D/refused-entry.json"
    stop_pid "$REKOR_PID"
    REKOR_PID=""
    stop_pid "$WITNESS_PID"
    WITNESS_PID=""
}

# Starts the suite's Rekor ($1 label, $2 database URL) with the one v2 witness "$3" (URL and
# verifier key), fail-closed, writes waiting at most a second.
fail_closed_rekor() { # label database-url witness
    RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$REKOR_PORT" --database-url "$2" \
        --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
        --public-url "$REKOR_PUBLIC_URL" --v2-witness "$3" --v2-witness-interval 100ms \
        --v2-witness-mode fail-closed --v2-witness-timeout 1s >>"$WORK/rekor-$1.log" 2>&1 &
    REKOR_PID=$!
    require "$1: Rekor starts fail-closed" "$PY" "$FC" wait --url "$REKOR_URL/healthz" --timeout 60
}

# `sigstack up` runs a witness of its own logs: each one's witnessed checkpoint is cosigned by
# the key in the data directory, and Rekor v2's passes the same checks as above.
up_suite() {
    local data="$WORK/up-data" name="127.0.0.1/witness"
    up_listen_on_free_ports
    RUST_LOG=info "$SIGSTACK" up --data-dir "$data" >"$WORK/up.log" 2>&1 &
    UP_PID=$!
    require "up: sigstack up starts" "$PY" "$FC" wait --url "$WITNESS_URL/healthz" --timeout 120
    require "up: its Rekor starts" "$PY" "$FC" wait --url "$REKOR_URL/healthz" --timeout 60
    check "up: the witness's verifier key is on the banner" grep -q "witness .*/add-checkpoint (verifier key $name+" "$WORK/up.log"
    check "up: Rekor v2's witnessed checkpoint and witness policy (witness_independent.py rekor)" \
        "$PY" "$WI" rekor --url "$REKOR_URL" --public-url "$REKOR_URL" --origin 127.0.0.1 \
        --log-key "$data/keys/rekor-v2.pem" --witness-url "$WITNESS_URL" --key "$data/keys/witness.pem" --name "$name"
    check "up: Rekor v1's active shard and the CT log are witnessed too (witness_independent.py cosigned)" \
        "$PY" "$WI" cosigned --key "$data/keys/witness.pem" --name "$name" \
        --url "$REKOR_URL/api/v1/log/checkpoint/witnessed" --url "$CT_URL/checkpoint/witnessed"
    # The policies, as the logs serve them, are TUF targets a client bootstrapped from root.json
    # downloads and verifies.
    curl -fsS "$REKOR_URL/api/v2/witness-policy" >"$WORK/rekor-v2.policy"
    curl -fsS "$REKOR_URL/api/v1/log/witness-policy" >"$WORK/rekor-v1.policy"
    curl -fsS "$CT_URL/witness-policy" >"$WORK/ctlog.policy"
    check "up: python-tuf downloads witness-policy-{rekor-v2,rekor-v1,ctlog}.txt, as the logs serve them" \
        "$TUF_PY" "$TC" fetch --url "$TUF_URL" --workdir "$WORK/tuf-client" --bootstrap "$data/trust/root.json" \
        --target "witness-policy-rekor-v2.txt=$WORK/rekor-v2.policy" --target "witness-policy-rekor-v1.txt=$WORK/rekor-v1.policy" \
        --target "witness-policy-ctlog.txt=$WORK/ctlog.policy"
    stop_pid "$UP_PID"
    UP_PID=""
}

suite sqlite "sqlite://$WORK/witness.sqlite"
if [[ -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]]; then
    create_pg sigstack_witness_interop
    suite postgres "$PG_URL"
    drop_pg
else
    log "SIGSTACK_TEST_DATABASE_URL is not set: SQLite only"
fi
up_suite

summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
