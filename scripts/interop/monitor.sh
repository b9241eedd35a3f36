#!/usr/bin/env bash
# The monitor against the lab: every fault of `sigstack lab`'s plan is detected and named by
# `sigstack monitor --once`, and a lab without faults gives no finding (docs/lab.md's table).
#
#   1. A real `sigstack rekor` (SQLite) gets hashedrekord v2 entries (monitor_lab.py add:
#      self-signed certificates, SAN alice@example.com).
#   2. For each row of the table: a `sigstack lab` in front of it with that row's plan, and a
#      monitor (its own SQLite database) following the lab at `/` (and `/b/` for the split
#      view) from index 0. Round 1 (`--once`), more entries, round 2; each round's exit status
#      and the kinds in its JSON lines must be the row's. After a finding, the monitor's
#      verified size must not have moved (monitor_lab.py state).
#   3. The watch list: an identity (rekor-monitor's certIdentities) matching the entries.
#   4. A running monitor with --listen serves GET /findings (shape of docs/monitor.md) and
#      /metrics, and POSTs each finding to its --webhook.
#   5. With SIGSTACK_TEST_DATABASE_URL: the roll-back row again with the state in PostgreSQL.
#
#   6. A witness of the Rekor log (Rekor submits to it): the split view seen by a monitor that
#      follows view b only and compares with the witness's cosigned checkpoint, and late
#      integration (the lab shows readers each tree late; the witness cosigned it at once).
#   7. Rekor v1 (no tiles): entries through /api/v1, followed with consistency proofs and
#      entries by index; the watch list matches, the next round is clean.
#   8. Our CT log directly, then through `sigstack lab --api ct`: every row again, over data
#      tiles and RFC 6962 tree heads, and late integration against the SCTs.
#
# Ends with one line on stdout, `monitor-lab: N passed, M failed`. KEEP_INTEROP_DIR=1 keeps the
# work directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

SUITE_NAME=monitor-lab
LOG_NAME="monitor lab"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

LAB_PID=""
MON_PID=""
W_PID=""
HOOK_PID=""
trap 'rc=$?; stop_pid "$MON_PID"; stop_pid "$LAB_PID"; stop_pid "$W_PID"; stop_pid "$HOOK_PID"; drop_pg; (exit $rc); cleanup' EXIT

SECONDS=0
build_sigstack
ensure_venv venv-ct cryptography "$REPO/scripts/interop/requirements-ct.txt"
ML="$REPO/scripts/interop/monitor_lab.py"
tools_ready "$("$PY" -c 'import cryptography; print("cryptography", cryptography.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-monitor-lab.XXXXXX")
D="$WORK"
"$SIGSTACK" keys generate "$D/rekor-v2.pem" --algorithm ed25519 >/dev/null 2>&1
start_rekor
require "5 entries logged" "$PY" "$ML" add --url "$REKOR_URL" --count 5 --email alice@example.com
ORIGIN=$("$PY" "$ML" origin --url "$REKOR_URL")
VKEY=$("$SIGSTACK" keys public "$D/rekor-v2.pem" --note-name "$ORIGIN")

# A witness of the Rekor v2 log: Rekor restarted (same port, database and keys) to submit each
# new checkpoint to it.
W_PORT=$(free_port)
W_URL="http://127.0.0.1:$W_PORT"
printf '[[log]]\norigin = "%s"\nkeys = ["%s"]\n' "$ORIGIN" "$VKEY" >"$D/witness.toml"
RUST_LOG=info "$SIGSTACK" witness --listen "127.0.0.1:$W_PORT" --database-url "sqlite://$D/witness.sqlite" \
    --config "$D/witness.toml" --name witness.monitor.test/w1 --key "$D/witness-key.pem" \
    >"$D/witness.out" 2>"$WORK/witness.log" &
W_PID=$!
require "the witness starts ($W_URL)" "$PY" "$FC" wait --url "$W_URL/healthz" --timeout 60
W_VKEY=""
for ((i = 0; i < 50; i++)); do
    W_VKEY=$(sed -n 's/.*(verifier key: \(.*\))$/\1/p' "$D/witness.out")
    [[ -n "$W_VKEY" ]] && break
    sleep 0.1
done
require "the witness printed its verifier key" test -n "$W_VKEY"
stop_pid "$REKOR_PID"
RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$REKOR_PORT" --database-url "sqlite://$D/rekor.sqlite" \
    --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
    --url "$REKOR_URL" --v2-witness "$W_URL $W_VKEY" --v2-witness-interval 100ms >>"$D/rekor.log" 2>&1 &
REKOR_PID=$!
require "Rekor restarts, witnessed" "$PY" "$FC" wait --url "$REKOR_URL/healthz" --timeout 60

# The log the labs stand in front of, and how the monitors follow it (the CT rows change them).
LAB_API=rekor-v2
LAB_UPSTREAM=""
LAB_KEY="$D/rekor-v2.pem"

# Starts a lab with plan file $1 in front of $LAB_UPSTREAM ($REKOR_URL if empty); sets LAB_URL
# and LAB_PID.
start_lab() { # plan-file
    local port
    port=$(free_port)
    LAB_URL="http://127.0.0.1:$port"
    RUST_LOG=info "$SIGSTACK" lab --listen "127.0.0.1:$port" --upstream "${LAB_UPSTREAM:-$REKOR_URL}" \
        --api "$LAB_API" --plan "$1" --key "$LAB_KEY" >>"$WORK/lab.log" 2>&1 &
    LAB_PID=$!
    "$PY" "$FC" wait --url "$LAB_URL/healthz" --timeout 60
}

# Writes a monitor configuration following URLs $2... into $1, from index 0, with the watch
# list of $WATCH (YAML lines, may be empty) and $LOG_EXTRA (YAML lines) in each log.
monitor_config() { # file url...
    local file=$1 u
    shift
    {
        echo "startIndex: 0"
        echo "logs:"
        for u in "$@"; do
            printf '  - url: %s\n    api: %s\n    keys: ["%s"]\n' "$u" "$LAB_API" "${MON_VKEY:-$VKEY}"
            if [[ -n "${LOG_EXTRA:-}" ]]; then printf '%s\n' "$LOG_EXTRA"; fi
        done
        printf '%s\n' "${WATCH:-}"
    } >"$file"
}

# One monitor round: `--once` with config $1 and database $2, findings into $3; prints
# "<exit status> <sorted unique kinds>".
round() { # config database findings-file
    local rc=0
    : >"$3"
    "$SIGSTACK" monitor --once --config "$1" --database-url "$2" --findings "$3" \
        --interval 1s --unreachable-after 1s >>"$WORK/monitor.log" 2>&1 || rc=$?
    printf '%s %s' "$rc" "$("$PY" -c 'import json, sys; print(",".join(sorted({json.loads(l)["kind"] for l in open(sys.argv[1]) if l.strip()})) or "-")' "$3")"
}

# Adds entries to the log the labs front: 3 Rekor v2 entries, or 2 CT certificates.
add_more() {
    if [[ "$LAB_API" == ct ]]; then
        "$PY" "$CT" submit --url "$CT_URL" --dir "$CT_DIR" --pubkey "$CT_DIR/log.pub.pem" \
            --records "$CT_DIR/records.jsonl" --tag "more$((++CT_TAGS))" --x509 2 >/dev/null
    else
        "$PY" "$ML" add --url "$REKOR_URL" --count 3 --email bob@example.com
    fi
}
CT_TAGS=0

# One row of the table: plan YAML $2; after round 1 the monitor must answer $3, after more
# entries (add_more) round 2 must answer $4 ("0 -" is a clean round, "1 kind[,kind]" a finding; "skip":
# no second round). $5: "views" follows the lab's /b/ view too. After a round-2 finding the
# verified size must not have moved.
row() { # name plan round1 round2 [views]
    local name=$1 dir="$WORK/$1" got
    mkdir -p "$dir"
    printf '%s\n' "$2" >"$dir/plan.yaml"
    if ! start_lab "$dir/plan.yaml"; then
        check "$name: the lab starts" false
        return
    fi
    if [[ "${5:-}" == views ]]; then
        monitor_config "$dir/monitor.yaml" "$LAB_URL" "$LAB_URL/b"
    else
        monitor_config "$dir/monitor.yaml" "$LAB_URL"
    fi
    DB="sqlite://$dir/monitor.sqlite"
    got=$(round "$dir/monitor.yaml" "$DB" "$dir/findings-1.jsonl")
    check "$name: round 1 gives \"$3\" (got \"$got\")" test "$got" == "$3"
    if [[ "$4" != skip ]]; then
        size_before=$("$PY" "$ML" state --db "$dir/monitor.sqlite" --url "$LAB_URL")
        add_more
        got=$(round "$dir/monitor.yaml" "$DB" "$dir/findings-2.jsonl")
        check "$name: round 2 gives \"$4\" (got \"$got\")" test "$got" == "$4"
        # Each view of a split view is a valid tree on its own: only the comparison of the
        # two shows the fault, and the views' states rightly move.
        if [[ "$4" != "0 -" && "${5:-}" != views ]]; then
            check "$name: the verified size did not move on the fault ($size_before)" \
                test "$("$PY" "$ML" state --db "$dir/monitor.sqlite" --url "$LAB_URL")" == "$size_before"
        fi
    fi
    stop_pid "$LAB_PID"
    LAB_PID=""
}

WATCH=""
row no-faults "faults: []" "0 -" "0 -" views
# The split view forks at the log's size after round 1: both views agree until then.
SPLIT_AT=$(( $("$PY" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1] + "/api/v2/checkpoint").read().decode().split(chr(10))[1])' "$REKOR_URL") ))
row split-view "faults:
  - fault: split-view
    atSize: $SPLIT_AT" "0 -" "1 split_view" views
# The same split view seen through the witness: the monitor follows view b only, and the
# witness cosigned what Rekor itself submitted (view a's tree).
mkdir -p "$WORK/witnessed"
printf 'faults:\n  - fault: split-view\n    atSize: %s\n' "$("$PY" "$ML" size --url "$REKOR_URL")" \
    >"$WORK/witnessed/plan.yaml"
start_lab "$WORK/witnessed/plan.yaml"
monitor_config "$WORK/witnessed/monitor.yaml" "$LAB_URL/b"
printf 'witnesses:\n  - url: %s\n    key: "%s"\n' "$W_URL" "$W_VKEY" >>"$WORK/witnessed/monitor.yaml"
require "the witness cosigned the log's size" "$PY" "$ML" witnessed --url "$REKOR_URL" --witness "$W_URL"
got=$(round "$WORK/witnessed/monitor.yaml" "sqlite://$WORK/witnessed/m.sqlite" "$WORK/witnessed/f1.jsonl")
check "split view via the witness: round 1 gives \"0 -\" (got \"$got\")" test "$got" == "0 -"
"$PY" "$ML" add --url "$REKOR_URL" --count 3 --email bob@example.com
require "the witness cosigned the log's new size" "$PY" "$ML" witnessed --url "$REKOR_URL" --witness "$W_URL"
got=$(round "$WORK/witnessed/monitor.yaml" "sqlite://$WORK/witnessed/m.sqlite" "$WORK/witnessed/f2.jsonl")
check "split view via the witness: round 2 gives \"1 split_view\" (got \"$got\")" test "$got" == "1 split_view"
check "split view via the witness: the finding names the witness" grep -q "witness $W_URL" "$WORK/witnessed/f2.jsonl"
stop_pid "$LAB_PID"
LAB_PID=""

# Late integration: the lab shows readers each tree only 10 minutes after it first saw it, while
# Rekor answered the writers and had the witness cosign the new tree at once. A monitor with
# the witness and a maximum merge delay of 1 s sees the witness's larger tree outlive it.
mkdir -p "$WORK/late"
printf 'faults:\n  - fault: late-integration\n    delay: 10m\n' >"$WORK/late/plan.yaml"
start_lab "$WORK/late/plan.yaml"
LOG_EXTRA="    maxMergeDelay: 1s" monitor_config "$WORK/late/monitor.yaml" "$LAB_URL"
printf 'witnesses:\n  - url: %s\n    key: "%s"\n' "$W_URL" "$W_VKEY" >>"$WORK/late/monitor.yaml"
require "the witness cosigned the log's size" "$PY" "$ML" witnessed --url "$REKOR_URL" --witness "$W_URL"
got=$(round "$WORK/late/monitor.yaml" "sqlite://$WORK/late/m.sqlite" "$WORK/late/f1.jsonl")
check "late-integration: round 1 gives \"0 -\" (got \"$got\")" test "$got" == "0 -"
size_before=$("$PY" "$ML" state --db "$WORK/late/m.sqlite" --url "$LAB_URL")
"$PY" "$ML" add --url "$REKOR_URL" --count 3 --email bob@example.com
require "the witness cosigned the log's new size" "$PY" "$ML" witnessed --url "$REKOR_URL" --witness "$W_URL"
sleep 2.1 # past the 1 s delay after the cosignature (whose time has a resolution of 1 s)
got=$(round "$WORK/late/monitor.yaml" "sqlite://$WORK/late/m.sqlite" "$WORK/late/f2.jsonl")
check "late-integration: round 2 gives \"1 late_integration\" (got \"$got\")" test "$got" == "1 late_integration"
check "late-integration: the verified size is still the one served ($size_before)" \
    test "$("$PY" "$ML" state --db "$WORK/late/m.sqlite" --url "$LAB_URL")" == "$size_before"
stop_pid "$LAB_PID"
LAB_PID=""

row rewrite-entry "faults:
  - fault: rewrite-entry
    index: 1" "1 inconsistent" skip
row drop-entry "faults:
  - fault: drop-entry
    index: 2" "1 inconsistent" skip
row wrong-proof "faults:
  - fault: wrong-proof
    afterCheckpoints: 1" "0 -" "1 inconsistent"
row rollback "faults:
  - fault: rollback
    toSize: 2
    afterCheckpoints: 1" "0 -" "1 rollback"
row wrong-key "faults:
  - fault: wrong-key" "1 bad_signature" skip
row garbage "faults:
  - fault: garbage
    afterCheckpoints: 1" "0 -" "1 unreachable"
WATCH='monitoredValues:
  certIdentities:
    - certSubject: alice@example\.com'
row watch-list "faults: []" "1 identity_match" skip
WATCH=""

# Our CT log (static-ct-api tiles, RFC 6962 tree head signatures): certificates and
# precertificates submitted by the independent CT client, followed from index 0, the watch list
# matching their DNS names; the next round, with nothing new, is clean.
CT_DIR="$WORK/ct"
CT_ORIGIN="monitor.sigstack.test/ct"
launch_independent_ctlog "$CT_DIR" "$CT_ORIGIN" "sqlite://$CT_DIR/ct.sqlite"
require "the CT log starts ($CT_URL)" "$PY" "$CT" wait --url "$CT_URL" --timeout 60
"$PY" "$CT" logkey --key "$CT_DIR/log.pem" --out "$CT_DIR/log.pub.pem" --url "$CT_URL" \
    --log-list "$CT_DIR/loglist.json" >/dev/null
require "ct: 3 certificates, 2 precertificates and their final certificates logged" "$PY" "$CT" submit --url "$CT_URL" --dir "$CT_DIR" \
    --pubkey "$CT_DIR/log.pub.pem" --records "$CT_DIR/records.jsonl" --tag m --x509 3 --precert 2
CT_VKEY=$("$SIGSTACK" keys public "$CT_DIR/log.pem" --note-name "$CT_ORIGIN" --rfc6962)
{
    echo "startIndex: 0"
    printf 'logs:\n  - url: %s\n    api: ct\n    keys: ["%s"]\n' "$CT_URL" "$CT_VKEY"
    printf 'monitoredValues:\n  subjects: [".*\\\\.interop\\\\.sigstack\\\\.test"]\n'
} >"$CT_DIR/monitor.yaml"
got=$(round "$CT_DIR/monitor.yaml" "sqlite://$CT_DIR/monitor.sqlite" "$CT_DIR/findings-1.jsonl")
check "ct: round 1 checks every entry and matches the DNS names (got \"$got\")" test "$got" == "1 identity_match"
check "ct: round 1 matched all 7 entries (3 certificates, 2 precertificates and their final certificates)" \
    test "$(wc -l <"$CT_DIR/findings-1.jsonl")" -eq 7
got=$(round "$CT_DIR/monitor.yaml" "sqlite://$CT_DIR/monitor.sqlite" "$CT_DIR/findings-2.jsonl")
check "ct: round 2, nothing new, is clean (got \"$got\")" test "$got" == "0 -"

# The lab in front of the CT log: the same faults, its checkpoints signed as RFC 6962 tree
# heads with the CT log's key, entries added by the independent CT client.
LAB_API=ct
LAB_UPSTREAM="$CT_URL"
LAB_KEY="$CT_DIR/log.pem"
MON_VKEY="$CT_VKEY"
row ct-no-faults "faults: []" "0 -" "0 -" views
ct_size() { "$PY" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1] + "/checkpoint").read().decode().split(chr(10))[1])' "$CT_URL"; }
row ct-split-view "faults:
  - fault: split-view
    atSize: $(ct_size)" "0 -" "1 split_view" views
row ct-rewrite-entry "faults:
  - fault: rewrite-entry
    index: 1" "1 inconsistent" skip
row ct-drop-entry "faults:
  - fault: drop-entry
    index: 2" "1 inconsistent" skip
row ct-wrong-proof "faults:
  - fault: wrong-proof
    afterCheckpoints: 1" "0 -" "1 inconsistent"
row ct-rollback "faults:
  - fault: rollback
    toSize: 2
    afterCheckpoints: 1" "0 -" "1 rollback"
row ct-wrong-key "faults:
  - fault: wrong-key" "1 bad_signature" skip
row ct-garbage "faults:
  - fault: garbage
    afterCheckpoints: 1" "0 -" "1 unreachable"
# Late integration: the lab shows each tree 2 s after it first saw it, under fresh tree head
# signatures. Round 2 (1.1 s after new entries got their SCTs) sees the old tree signed after
# the 1 s merge delay had passed for them; round 3, the new tree: their SCTs are too old.
mkdir -p "$WORK/ct-late"
printf 'faults:\n  - fault: late-integration\n    delay: 2s\n' >"$WORK/ct-late/plan.yaml"
start_lab "$WORK/ct-late/plan.yaml"
LOG_EXTRA="    maxMergeDelay: 1s" monitor_config "$WORK/ct-late/monitor.yaml" "$LAB_URL"
CT_LATE_DB="sqlite://$WORK/ct-late/m.sqlite"
got=$(round "$WORK/ct-late/monitor.yaml" "$CT_LATE_DB" "$WORK/ct-late/f1.jsonl")
check "ct-late-integration: round 1 gives \"0 -\" (got \"$got\")" test "$got" == "0 -"
add_more
sleep 1.1
got=$(round "$WORK/ct-late/monitor.yaml" "$CT_LATE_DB" "$WORK/ct-late/f2.jsonl")
check "ct-late-integration: round 2, the old tree re-signed, gives \"0 -\" (got \"$got\")" test "$got" == "0 -"
sleep 2.1
got=$(round "$WORK/ct-late/monitor.yaml" "$CT_LATE_DB" "$WORK/ct-late/f3.jsonl")
check "ct-late-integration: round 3 gives \"1 late_integration\" (got \"$got\")" test "$got" == "1 late_integration"
stop_pid "$LAB_PID"
LAB_PID=""
LAB_API=rekor-v2
LAB_UPSTREAM=""
LAB_KEY="$D/rekor-v2.pem"
MON_VKEY=""
stop_pid "$CT_PID"
CT_PID=""

# Rekor v1 (no tiles): the checkpoint signed with the v1 key (ECDSA, note name the log's, origin
# "<name> - <tree ID>"), a consistency proof from the verified size and every new entry read
# by index must agree; the watch list matches alice's entries; the next round is clean.
V1_DIR="$WORK/v1"
mkdir -p "$V1_DIR"
require "v1: 4 entries logged through /api/v1" "$PY" "$ML" add --v1 --url "$REKOR_URL" --count 4 --email alice@example.com
V1_ORIGIN=$("$PY" "$ML" origin --v1 --url "$REKOR_URL")
V1_VKEY=$("$SIGSTACK" keys public "$D/rekor-v1.pem" --note-name "${V1_ORIGIN%% - *}")
{
    echo "startIndex: 0"
    printf 'logs:\n  - url: %s\n    api: rekor-v1\n    origin: "%s"\n    keys: ["%s"]\n' \
        "$REKOR_URL" "$V1_ORIGIN" "$V1_VKEY"
    printf 'monitoredValues:\n  certIdentities:\n    - certSubject: alice@example\\.com\n'
} >"$V1_DIR/monitor.yaml"
got=$(round "$V1_DIR/monitor.yaml" "sqlite://$V1_DIR/m.sqlite" "$V1_DIR/f1.jsonl")
check "v1: round 1 checks every entry and matches alice's (got \"$got\")" test "$got" == "1 identity_match"
check "v1: round 1 matched the 4 entries" test "$(wc -l <"$V1_DIR/f1.jsonl")" -eq 4
"$PY" "$ML" add --v1 --url "$REKOR_URL" --count 3 --email bob@example.com
got=$(round "$V1_DIR/monitor.yaml" "sqlite://$V1_DIR/m.sqlite" "$V1_DIR/f2.jsonl")
check "v1: round 2 (a consistency proof, 3 more entries) is clean (got \"$got\")" test "$got" == "0 -"
check "v1: the verified size is the log's, 7" \
    test "$("$PY" "$ML" state --db "$V1_DIR/m.sqlite" --url "$REKOR_URL")" == 7
# Another ECDSA key under the log's name: not the log's signature.
"$SIGSTACK" keys generate "$V1_DIR/other.pem" >/dev/null 2>&1
sed "s|$V1_VKEY|$("$SIGSTACK" keys public "$V1_DIR/other.pem" --note-name "${V1_ORIGIN%% - *}")|" \
    "$V1_DIR/monitor.yaml" >"$V1_DIR/other.yaml"
got=$(round "$V1_DIR/other.yaml" "sqlite://$V1_DIR/other.sqlite" "$V1_DIR/f3.jsonl")
check "v1: a checkpoint verified with another key gives \"1 bad_signature\" (got \"$got\")" \
    test "$got" == "1 bad_signature"

# A running monitor's read-only API.
mkdir -p "$WORK/listen"
printf 'faults:\n  - fault: wrong-key\n' >"$WORK/listen/plan.yaml"
start_lab "$WORK/listen/plan.yaml"
monitor_config "$WORK/listen/monitor.yaml" "$LAB_URL"
MON_PORT=$(free_port)
HOOK_PORT=$(free_port)
"$PY" "$ML" hook --port "$HOOK_PORT" --out "$WORK/listen/hook.jsonl" &
HOOK_PID=$!
require "the webhook receiver starts" "$PY" "$FC" wait --url "http://127.0.0.1:$HOOK_PORT/ready" --timeout 30
"$SIGSTACK" monitor --config "$WORK/listen/monitor.yaml" --database-url "sqlite://$WORK/listen/m.sqlite" \
    --findings "$WORK/listen/findings.jsonl" --interval 200ms --listen "127.0.0.1:$MON_PORT" \
    --webhook "http://127.0.0.1:$HOOK_PORT/hook" >>"$WORK/monitor.log" 2>&1 &
MON_PID=$!
require "the monitor serves /healthz" "$PY" "$FC" wait --url "http://127.0.0.1:$MON_PORT/healthz" --timeout 60
for ((i = 0; i < 50; i++)); do
    [[ -s "$WORK/listen/findings.jsonl" ]] && break
    sleep 0.2
done
check "GET /findings: newest first, documented fields, the bad_signature finding; limit=0 is a 400" \
    "$PY" "$ML" findings --url "http://127.0.0.1:$MON_PORT" --kind bad_signature
check "GET /metrics counts the finding" \
    bash -c "curl -fsS http://127.0.0.1:$MON_PORT/metrics | grep -q 'monitor_findings_total{kind=\"bad_signature\"'"
for ((i = 0; i < 50; i++)); do
    [[ -s "$WORK/listen/hook.jsonl" ]] && break
    sleep 0.1
done
check "the webhook got the finding's JSON line, the same as the findings file's" \
    cmp -s "$WORK/listen/hook.jsonl" "$WORK/listen/findings.jsonl"
stop_pid "$HOOK_PID"
HOOK_PID=""
stop_pid "$MON_PID"
MON_PID=""
stop_pid "$LAB_PID"
LAB_PID=""

if [[ -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]]; then
    create_pg sigstack_monitor_lab
    mkdir -p "$WORK/pg"
    printf 'faults:\n  - fault: rollback\n    toSize: 2\n    afterCheckpoints: 1\n' >"$WORK/pg/plan.yaml"
    start_lab "$WORK/pg/plan.yaml"
    monitor_config "$WORK/pg/monitor.yaml" "$LAB_URL"
    got=$(round "$WORK/pg/monitor.yaml" "$PG_URL" "$WORK/pg/f1.jsonl")
    check "postgres: round 1 is clean (got \"$got\")" test "$got" == "0 -"
    got=$(round "$WORK/pg/monitor.yaml" "$PG_URL" "$WORK/pg/f2.jsonl")
    check "postgres: round 2 names the roll-back (got \"$got\")" test "$got" == "1 rollback"
    stop_pid "$LAB_PID"
    LAB_PID=""
    drop_pg
else
    log "SIGSTACK_TEST_DATABASE_URL is not set: SQLite only"
fi

summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
