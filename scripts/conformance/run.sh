#!/usr/bin/env bash
# Conformance suite: schemathesis (pinned in requirements.txt) drives the live services of a fresh
# `sigstack up` with upstream's own API documents (api-specs/, provenance in its README.md):
# Rekor v1 (rekor/openapi.yaml), Fulcio v2 (fulcio.swagger.json), Fulcio legacy v1
# (fulcio_legacy.swagger.json) and the TSA (timestamp-authority/openapi.yaml).
#
# Before schemathesis runs, seed.py creates real Rekor entries, and hooks.py adds explicit
# examples with realistic data (entries that exist, valid signatures, a valid identity token from
# the development issuer) so that the core logic is reached, not only the 4xx paths. Each such
# example states the status it must get (check `expected_status`; summarize.py also fails an
# example that never ran).
#
# Backends: the whole suite runs once per storage backend of `sigstack up`: `sqlite` (the
# embedded default) and, when SIGSTACK_TEST_DATABASE_URL is set (a postgres:// URL of a role that
# may CREATE DATABASE, as scripts/with-postgres.sh exports), `postgres`: a throwaway database
# created for the run (psql needed) and dropped at exit, passed as `sigstack up --database-url`.
#
# Counting (the last line, `conformance: N passed, M failed`): one unit per API operation of
# each document and backend (15 per backend: Rekor 8, Fulcio v2 3, Fulcio legacy 2, TSA 2). An
# operation passes when schemathesis reported no failure of any selected check for it and no
# error, and every realistic example of it ran with its expected status; otherwise it counts once
# in M, whatever the number of distinct failures (listed above the last line). A document that
# cannot be run at all, or a backend whose stack cannot be set up, counts as one failure. Exit
# status: 0 only when M = 0. Cleanup (stack stopped, database dropped, work directory removed)
# runs on every exit path.
#
# Usage: bash scripts/conformance/run.sh
# Knobs (environment): CONFORMANCE_BACKENDS (default `sqlite`, plus `postgres` when
# SIGSTACK_TEST_DATABASE_URL is set; e.g. `sqlite` or `postgres` alone), CONFORMANCE_MAX_EXAMPLES
# (default 100 per operation and phase), CONFORMANCE_SEED (default 1: reproducible),
# CONFORMANCE_KEEP=1 keeps the work directory (reports, stack logs),
# CONFORMANCE_ONLY=rekor|fulcio|fulcio-legacy|tsa runs one document.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SPECS="$REPO/api-specs"
MAX_EXAMPLES="${CONFORMANCE_MAX_EXAMPLES:-100}"
SEED="${CONFORMANCE_SEED:-1}"
ONLY="${CONFORMANCE_ONLY:-}"
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,expected_status"

default_backends=sqlite
[[ -z "${SIGSTACK_TEST_DATABASE_URL:-}" ]] || default_backends=sqlite,postgres
IFS=, read -r -a BACKENDS <<<"${CONFORMANCE_BACKENDS:-$default_backends}"

WORK=""
UP_PID=""
DB_NAME=""
DB_URL=""
summary_printed=0

log() { printf 'conformance: %s\n' "$*" >&2; }

stop_stack() {
    local i
    [[ -n "$UP_PID" ]] || return 0
    kill -INT "$UP_PID" 2>/dev/null || { UP_PID=""; return 0; }
    for ((i = 0; i < 100; i++)); do
        kill -0 "$UP_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
    UP_PID=""
}

# --- PostgreSQL: a throwaway database per run ---------------------------------------------------
# DB_NAME is set while the database exists, so that cleanup drops it on every exit path.
pg_admin() { # sql
    psql -X -q -v ON_ERROR_STOP=1 -d "$SIGSTACK_TEST_DATABASE_URL" -c "$1" >/dev/null
}

create_database() { # sets DB_NAME and DB_URL
    local name
    [[ -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]] || {
        log "postgres backend: SIGSTACK_TEST_DATABASE_URL is not set"
        return 1
    }
    command -v psql >/dev/null || { log "postgres backend: psql is needed"; return 1; }
    name="sigstack_conformance_$$_$(date +%s)_$RANDOM"
    pg_admin "CREATE DATABASE \"$name\"" || { log "cannot create database $name"; return 1; }
    DB_NAME=$name
    DB_URL=$("$PY" -c '
import sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
print(u.urlunsplit(url._replace(path="/" + sys.argv[2])))
' "$SIGSTACK_TEST_DATABASE_URL" "$name") || return 1
}

drop_database() {
    [[ -n "$DB_NAME" ]] || return 0
    pg_admin "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" 2>/dev/null ||
        pg_admin "DROP DATABASE IF EXISTS \"$DB_NAME\"" ||
        log "could not drop database $DB_NAME"
    DB_NAME=""
    DB_URL=""
}

# shellcheck disable=SC2317,SC2329  # reached through the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_stack
    drop_database
    if [[ -n "$WORK" ]]; then
        # (kept: said before the last line when the run completed)
        if [[ "${CONFORMANCE_KEEP:-}" == 1 ]]; then
            [[ $summary_printed -eq 1 ]] || log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if [[ $summary_printed -eq 0 ]]; then
        printf 'conformance: 0 passed, 1 failed\n'
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

for backend in "${BACKENDS[@]}"; do
    case "$backend" in
    sqlite | postgres) ;;
    *)
        log "unknown backend '$backend' in CONFORMANCE_BACKENDS (sqlite, postgres)"
        exit 2
        ;;
    esac
done

# --- tools: the pinned venv, the sigstack binary ----------------------------------------------
VENV="$REPO/.cache/conformance/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$REPO/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$HERE/requirements.txt" "schemathesis" --only-binary :all: --no-deps
PY="$VENV/bin/python"
ST="$VENV/bin/schemathesis"

SIGSTACK="$REPO/target/debug/sigstack"
if [[ ! -x "$SIGSTACK" ]]; then
    for attempt in 1 2 3; do
        log "building sigstack (attempt $attempt)"
        if (cd "$REPO" && cargo build -p sigstack --locked --quiet); then
            break
        fi
        [[ $attempt -lt 3 ]] || { log "cannot build sigstack"; exit 1; }
        sleep 60
    done
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-conformance.XXXXXX")

# --- the stack -----------------------------------------------------------------------------------
start_stack() { # dir [sigstack up args...]; sets REKOR FULCIO TSA ISSUER UP_PID
    local dir=$1 ports ct rekor fulcio tsa tuf issuer explorer witness
    shift
    ports=$("$PY" "$REPO/scripts/free_ports.py" 8) || return 1
    read -r ct rekor fulcio tsa tuf issuer explorer witness <<<"$ports"
    REKOR="http://127.0.0.1:$rekor"
    FULCIO="http://127.0.0.1:$fulcio"
    TSA="http://127.0.0.1:$tsa"
    ISSUER="http://127.0.0.1:$issuer"

    log "starting sigstack up (data in $dir/data${DB_NAME:+, database $DB_NAME})"
    RUST_LOG="${RUST_LOG:-warn}" "$SIGSTACK" up --data-dir "$dir/data" "$@" \
        --ctlog-listen "127.0.0.1:$ct" --rekor-listen "127.0.0.1:$rekor" \
        --fulcio-listen "127.0.0.1:$fulcio" --tsa-listen "127.0.0.1:$tsa" \
        --tuf-listen "127.0.0.1:$tuf" --dev-issuer-listen "127.0.0.1:$issuer" \
        --explorer-listen "127.0.0.1:$explorer" --witness-listen "127.0.0.1:$witness" >"$dir/up.log" 2>&1 &
    UP_PID=$!

    "$PY" - "$REKOR/api/v1/log" "$FULCIO/api/v2/configuration" "$TSA/api/v1/timestamp/certchain" \
        "$ISSUER/.well-known/openid-configuration" <<'EOF' || return 1
import sys, time, urllib.request
deadline = time.monotonic() + 90
for url in sys.argv[1:]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"not ready: {url}")
        time.sleep(0.2)
EOF
    log "stack ready"
}

# --- schemathesis, one document at a time --------------------------------------------------------
run_doc() { # reports-dir name document base-url [extra schemathesis args...]
    local reports=$1 name=$2 doc=$3 url=$4
    shift 4
    [[ -z "$ONLY" || "$ONLY" == "$name" ]] || return 0
    log "schemathesis: $name ($doc against $url)"
    local out="$reports/$name"
    mkdir -p "$out"
    local rc=0
    (cd "$WORK" && CONFORMANCE_SERVICE="$name" CONFORMANCE_EXPECTATIONS="$out/expectations.jsonl" \
        SCHEMATHESIS_HOOKS="$HERE/hooks.py" "$ST" --no-color \
        --config-file "$HERE/schemathesis.toml" run "$SPECS/$doc" \
        --url "$url" --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 1 \
        --phases examples,coverage,fuzzing --continue-on-failure \
        --report junit,ndjson --report-junit-path "$out/junit.xml" \
        --report-ndjson-path "$out/events.ndjson" "$@" \
        >"$out/output.txt" 2>&1) || rc=$?
    printf '%s\n' "$rc" >"$out/rc"
    log "schemathesis: $name exited $rc"
}

# One backend: a fresh stack (and database), seeded, then every document. A backend that cannot
# be set up is recorded in its reports (`setup-failed`), which summarize.py counts as one
# failure; the next backend still runs.
run_backend() { # backend
    local backend=$1 dir="$WORK/$1" reports="$WORK/reports/$1" started=$SECONDS token
    local up_args=()
    mkdir -p "$dir" "$reports"
    if [[ "$backend" == postgres ]]; then
        if ! create_database; then
            echo "cannot create a database with \$SIGSTACK_TEST_DATABASE_URL" >"$reports/setup-failed"
            return 0
        fi
        up_args=(--database-url "$DB_URL")
    fi
    if ! start_stack "$dir" "${up_args[@]}"; then
        { echo "the stack did not come up; the end of its log:"; tail -n 30 "$dir/up.log"; } \
            >"$reports/setup-failed"
    elif ! token=$("$SIGSTACK" token --issuer-url "$ISSUER" conformance@example.com) ||
        ! (cd "$HERE" && "$PY" seed.py "$REKOR" "$dir/fixtures.json") 2>"$dir/seed.log"; then
        { echo "taking a token or seeding Rekor failed:"; cat "$dir/seed.log"; } \
            >"$reports/setup-failed"
    else
        export CONFORMANCE_TOKEN="$token" CONFORMANCE_FIXTURES="$dir/fixtures.json"
        run_doc "$reports" rekor rekor/openapi.yaml "$REKOR"
        run_doc "$reports" fulcio fulcio/fulcio.swagger.json "$FULCIO"
        run_doc "$reports" fulcio-legacy fulcio/fulcio_legacy.swagger.json "$FULCIO" \
            --header "Authorization: Bearer $token"
        run_doc "$reports" tsa timestamp-authority/openapi.yaml "$TSA"
    fi
    stop_stack
    drop_database
    log "$backend: $((SECONDS - started))s (stack, seeding, schemathesis)"
}

SECONDS=0
for backend in "${BACKENDS[@]}"; do
    run_backend "$backend"
done
log "all backends (${BACKENDS[*]}): ${SECONDS}s"

[[ "${CONFORMANCE_KEEP:-}" != 1 ]] || log "keeping $WORK (reports in $WORK/reports, stack logs in $WORK/<backend>/up.log)"
# summarize.py lists the results on stderr and prints the closing line; it is printed here, last,
# only when well-formed (otherwise cleanup prints `0 passed, 1 failed`).
rc=0
line=$("$PY" "$HERE/summarize.py" "$WORK/reports") || rc=$?
if [[ "$line" =~ ^conformance:\ [0-9]+\ passed,\ ([0-9]+)\ failed$ ]]; then
    [[ "${BASH_REMATCH[1]}" == 0 ]] || [[ $rc -ne 0 ]] || rc=1
    printf '%s\n' "$line"
    summary_printed=1
else
    log "summarize.py failed (exit status $rc)"
    [[ $rc -ne 0 ]] || rc=1
fi
exit "$rc"
