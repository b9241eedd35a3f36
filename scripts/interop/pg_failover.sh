#!/usr/bin/env bash
# PostgreSQL failover under write load, and reads from a streaming replica, with the real binary.
#
#   bash scripts/interop/pg_failover.sh
#
# It:
#   1. makes a primary cluster (initdb) and a streaming standby of it (pg_basebackup -R), each in
#      a temp dir on a free port of its own (never the shared server), and makes the standby
#      synchronous (synchronous_standby_names = '*'): a commit is acknowledged only once the
#      standby has it on disk;
#   2. starts two `sigstack rekor` processes on the multi-host URL
#      postgres://…@127.0.0.1:PRIMARY,127.0.0.1:STANDBY/sigstack?target_session_attrs=read-write,
#      with the standby as their read replica (--read-database-url), and checks that entries
#      read back right after they were written are found (the standby may not have applied them
#      yet) and that the standby answered reads (the tlog_store_reads_total metric); a
#      `sigstack ctlog` on the same URLs logs certificates, and everything it logged is read
#      back and proved through the replica;
#   3. runs one rekor-loadgen per process (--record: every acknowledged entry), and while they
#      run stops the primary hard (pg_ctl stop -m immediate) and promotes the standby
#      (pg_ctl promote);
#   4. checks that both processes resumed writing on the promoted server by themselves, within
#      $FAILOVER_MAX_GAP_S seconds of the last acknowledgement before the failover (the gap is
#      printed); that every acknowledged entry is in the log at its index with a verifying
#      inclusion proof, and that every tree handed out is a prefix of the final one
#      (scripts/interop/log_audit.py): nothing acknowledged was lost, the log did not fork.
#
# Needs python3 and PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup; found as
# scripts/with-postgres.sh finds them); without them it says so and counts one check skipped.
# REKOR_LOADGEN_BIN (default target/debug/rekor-loadgen, built if missing) is the load
# generator. Ends with one line on stdout, `pg-failover: N passed, M failed`.
# KEEP_INTEROP_DIR=1 keeps the work directory (clusters, logs, the record) for debugging.
# PG_FAILOVER_ASYNC=1 leaves the standby asynchronous, to see what is at risk without
# synchronous replication (docs/deploy.md): the audits may then fail, and that is the point;
# never in the test command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

SUITE_NAME=pg-failover
LOG_NAME="pg-failover"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"
# Its helpers that find the server binaries and run them as an unprivileged user.
# shellcheck source=scripts/with-postgres.sh
source "$REPO/scripts/with-postgres.sh"

# How long writes may stop around the failover: the watcher checks the server every 0.5 s and
# a probe gives up after 2 s; promotion takes about a second.
FAILOVER_MAX_GAP_S=${FAILOVER_MAX_GAP_S:-10}
# The load: seconds, and when the primary is stopped.
LOAD_SECONDS=8
FAIL_AT_S=3

SECONDS=0
BINDIR=$(_sigstack_pg_bindir)
if [[ -z "$BINDIR" || ! -x "$BINDIR/pg_basebackup" ]]; then
    log "skipped: no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) on this machine"
    summary_printed=1
    echo "$SUITE_NAME: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
build_sigstack
LOADGEN=${REKOR_LOADGEN_BIN:-$REPO/target/debug/rekor-loadgen}
if [[ ! -x "$LOADGEN" ]]; then
    log "building rekor-loadgen"
    cargo build -p sigstack-rekor --features loadgen --bin rekor-loadgen --locked --quiet
fi
# cryptography, for ct_independent.py (the CT log on the replica); log_audit.py needs only the
# standard library.
ensure_venv venv-ct cryptography "$REPO/scripts/interop/requirements-ct.txt"
tools_ready "$("$BINDIR/postgres" --version)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-pg-failover.XXXXXX")
D=$WORK
PRIMARY_DIR="$D/primary"
STANDBY_DIR="$D/standby"
# The clusters run as an unprivileged user when we are root (postgres refuses root).
_SIGSTACK_PG_OWNER=$(id -un)
if [[ "$(id -u)" == 0 ]]; then
    if id -u postgres >/dev/null 2>&1; then _SIGSTACK_PG_OWNER=postgres; else _SIGSTACK_PG_OWNER=nobody; fi
    chown -R "$_SIGSTACK_PG_OWNER:" "$D"
fi
as_owner() { (cd "$D" && _sigstack_pg_as_owner "$@"); }

# Both clusters are stopped on any exit, before lib.sh's cleanup removes their directory.
stop_clusters() {
    local dir
    stop_pid "${REKOR_PIDS[2]:-}"
    for dir in "$PRIMARY_DIR" "$STANDBY_DIR"; do
        [[ -f "$dir/postmaster.pid" ]] && as_owner "$BINDIR/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
    done
    cleanup
}
trap stop_clusters EXIT

PRIMARY_PORT=$(free_port)
STANDBY_PORT=$(free_port)
# fsync off: a hard stop kills the server, not the machine, so what the primary wrote survives
# in the page cache either way; what this suite tests is what reached the standby.
SERVER_OPTS="-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 -c wal_level=replica -c max_wal_senders=4"

start_cluster() { # dir port
    as_owner "$BINDIR/pg_ctl" -D "$1" -l "$1.log" -w -t 60 start \
        -o "$SERVER_OPTS -p $2 -k $D" >/dev/null
}
psql_at() { # port sql...
    local port=$1
    shift
    psql -X -w -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$*"
}

make_clusters() {
    as_owner "$BINDIR/initdb" -D "$PRIMARY_DIR" -U postgres --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >"$D/initdb.log" 2>&1 &&
        start_cluster "$PRIMARY_DIR" "$PRIMARY_PORT" &&
        as_owner "$BINDIR/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
            -D "$STANDBY_DIR" -R -X stream --no-sync >"$D/basebackup.log" 2>&1 &&
        start_cluster "$STANDBY_DIR" "$STANDBY_PORT" || return 1
    [[ "$SYNC_STATE" == sync ]] || return 0
    # Synchronous from now on: set on the primary only (the standby's copy of the configuration
    # does not have it), so the promoted standby does not wait for a standby of its own it will
    # never have.
    psql_at "$PRIMARY_PORT" "ALTER SYSTEM SET synchronous_standby_names = '*'" &&
        psql_at "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
}
SYNC_STATE=sync
[[ "${PG_FAILOVER_ASYNC:-}" != 1 ]] || SYNC_STATE=async
require "a primary (port $PRIMARY_PORT) and a streaming standby (port $STANDBY_PORT) start" make_clusters

standby_is_sync() {
    local i state
    for ((i = 0; i < 100; i++)); do
        state=$(psql_at "$PRIMARY_PORT" "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'")
        [[ "$state" == "$SYNC_STATE" ]] && return 0
        sleep 0.1
    done
    log "pg_stat_replication: ${state:-no streaming standby}"
    return 1
}
require "the standby streams (pg_stat_replication.sync_state = $SYNC_STATE)" standby_is_sync
psql_at "$PRIMARY_PORT" "CREATE DATABASE sigstack" >/dev/null

DB_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT,127.0.0.1:$STANDBY_PORT/sigstack?target_session_attrs=read-write"
REPLICA_URL="postgres://postgres@127.0.0.1:$STANDBY_PORT/sigstack"
# Two rekor processes on the one log, as a deployment with replicas runs it: both fail over,
# and the log they sequence in turn (one advisory lock per round) must not fork.
REKOR_URLS=()
REKOR_PIDS=()
start_rekor_process() { # n: sets REKOR_URLS[n], REKOR_PIDS[n]; logs to rekor-<n>.log
    local port
    port=$(free_port)
    REKOR_URLS[$1]="http://127.0.0.1:$port"
    RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$port" \
        --database-url "$DB_URL" --read-database-url "$REPLICA_URL" \
        --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
        --public-url "http://rekor.failover.test" >"$D/rekor-$1.log" 2>&1 &
    REKOR_PIDS[$1]=$!
}
rekor_up() { # url pid
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
start_rekor_process 1
REKOR_PID=${REKOR_PIDS[1]} # stopped by lib.sh's cleanup
require "rekor starts on the multi-host URL, reading from the standby" rekor_up "${REKOR_URLS[1]}" "$REKOR_PID"
# The second once the first has made the keys and the shard layout they share.
start_rekor_process 2
require "a second rekor process starts on the same log" rekor_up "${REKOR_URLS[2]}" "${REKOR_PIDS[2]}"
REKOR_URL=${REKOR_URLS[1]}

# Writes then at once reads back (by UUID, and by index) through the replica: never a 404.
read_your_writes() {
    "$LOADGEN" --url "$REKOR_URL" --seconds 3 --concurrency 4 --entries 200 \
        --record "$D/warmup.jsonl" >"$D/warmup.out" 2>&1 || return 1
    "$PY" - "$REKOR_URL" "$D/warmup.jsonl" <<'PY'
import http.client, json, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
acks = [json.loads(line) for line in open(sys.argv[2])]
for ack in acks:
    for path in (f"/api/v1/log/entries/{ack['uuid']}", f"/api/v1/log/entries?logIndex={ack['index']}"):
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"GET {path}: {answer.status}")
print(f"pg-failover: {len(acks)} entries read back by UUID and by index", file=sys.stderr)
PY
}
check "entries just written are found through the read replica (by UUID and by index)" read_your_writes
# tlog_store_reads_total{target} of a service's /metrics: where its reads were answered.
store_reads() { # base-url target
    curl -fsS "$1/metrics" | awk -v series="tlog_store_reads_total{target=\"$2\"}" \
        '$1 == series { printf "%d", $2; found = 1 } END { if (!found) print 0 }'
}
replica_answered() { # base-url
    local on_replica
    on_replica=$(store_reads "$1" replica)
    log "$1: $on_replica reads answered by the standby, $(store_reads "$1" primary) by the primary"
    [[ "$on_replica" -gt 0 ]]
}
check "the standby answered reads (rekor's tlog_store_reads_total)" replica_answered "$REKOR_URL"

# The CT log on the same primary, reading from the same standby: everything it handed out is
# read back and proved through the replica (ct_independent.py's verify: every entry, every
# inclusion proof, consistency), then it stops before the failover.
launch_independent_ctlog "$D/ct" "failover.sigstack.test/ctlog" "$DB_URL" \
    --read-database-url "$REPLICA_URL"
ct_on_replica() {
    "$PY" "$CT" wait --url "$CT_URL" --timeout 60 >/dev/null &&
        "$PY" "$CT" logkey --key "$D/ct/log.pem" --out "$D/ct/log.pub.pem" --url "$CT_URL" \
            --log-list "$D/ct/loglist.json" >/dev/null &&
        "$PY" "$CT" submit --url "$CT_URL" --dir "$D/ct" --pubkey "$D/ct/log.pub.pem" \
            --records "$D/ct/records.jsonl" --tag r --x509 6 --precert 6 --concurrency 4 >/dev/null &&
        "$PY" "$CT" verify --url "$CT_URL" --dir "$D/ct" --pubkey "$D/ct/log.pub.pem" \
            --records "$D/ct/records.jsonl" >/dev/null
}
check "ctlog with the standby as read replica: what it logged is read back and proved" ct_on_replica
check "the standby answered the CT log's reads (tlog_store_reads_total)" replica_answered "$CT_URL"
stop_pid "$CT_PID"
CT_PID=""

# The failover, under load: one load generator per process.
LOADGEN_PIDS=()
for n in 1 2; do
    "$LOADGEN" --url "${REKOR_URLS[n]}" --seconds "$LOAD_SECONDS" --concurrency 4 --entries 6000 \
        --record "$D/acks-$n.jsonl" --allow-failures >"$D/loadgen-$n.out" 2>"$D/loadgen-$n.log" &
    LOADGEN_PIDS+=($!)
done
# The runs start once their entries are signed.
for ((i = 0; i < 600; i++)); do
    [[ $(cat "$D"/loadgen-[12].log 2>/dev/null | grep -c '^signed ') -eq 2 ]] && break
    sleep 0.1
done
sleep "$FAIL_AT_S"
FAILED_AT_MS=$(($(date +%s%N) / 1000000))
as_owner "$BINDIR/pg_ctl" -D "$PRIMARY_DIR" -m immediate stop >/dev/null
as_owner "$BINDIR/pg_ctl" -D "$STANDBY_DIR" -w -t 60 promote >/dev/null
PROMOTED_MS=$(($(date +%s%N) / 1000000))
log "primary stopped hard; standby promoted in $((PROMOTED_MS - FAILED_AT_MS)) ms"
wait "${LOADGEN_PIDS[@]}" || true
cat "$D/loadgen-1.out" "$D/loadgen-2.out" >&2
cat "$D/acks-1.jsonl" "$D/acks-2.jsonl" >"$D/acks.jsonl"

resumed_in_time() { # n
    local gap
    gap=$(sed -n 's/^longest gap between acknowledgements: \([0-9.]*\)s.*/\1/p' "$D/loadgen-$1.out")
    [[ -n "$gap" ]] || return 1
    log "write gap of process $1 across the failover: ${gap}s (bound ${FAILOVER_MAX_GAP_S}s)"
    "$PY" -c "import sys; sys.exit(0 if float('$gap') < $FAILOVER_MAX_GAP_S else 1)"
}
# Acknowledgements after the longest gap (the failover's): the writes that resumed.
acknowledged_after_failover() { # n
    local after
    after=$("$PY" - "$D/acks-$1.jsonl" <<'PY'
import json, sys
ms = sorted(json.loads(line)["ms"] for line in open(sys.argv[1]))
gaps = [(b - a, i + 1) for i, (a, b) in enumerate(zip(ms, ms[1:]))]
print(len(ms) - max(gaps)[1] if gaps else 0)
PY
)
    log "process $1: $after entries acknowledged after the failover"
    [[ "$after" -gt 0 ]]
}
for n in 1 2; do
    check "process $n: writes resume on the promoted standby by themselves" acknowledged_after_failover "$n"
    check "process $n: the write gap is under ${FAILOVER_MAX_GAP_S}s" resumed_in_time "$n"
    check "process $n logged the move to the promoted server" grep -q "database failover" "$D/rekor-$n.log"
done
check "every entry acknowledged by either process is in the log, provable" \
    "$PY" "$REPO/scripts/interop/log_audit.py" --url "$REKOR_URL" --record "$D/acks.jsonl" entries
check "every tree either process handed out is a prefix of the final one: no fork" \
    "$PY" "$REPO/scripts/interop/log_audit.py" --url "$REKOR_URL" --record "$D/acks.jsonl" consistency

log "done in ${SECONDS}s"
summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
