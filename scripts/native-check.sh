# shellcheck shell=bash
# shellcheck disable=SC2034 # SIGSTACK, DB_URL, WORK and LOG_NAME are for the sourcing script
# Scaffolding of the checks that run a deployment's command lines natively (check-compose.sh,
# check-kubernetes.sh): the log prefix, the exit trap that drops the fresh database, removes the
# scratch directory (unless kept) and prints a closing line if the check could not, the binary,
# and a fresh PostgreSQL database. Sourced, never run.
#
#   source scripts/native-check.sh
#   native_check_begin compose-check KEEP_COMPOSE_CHECK_DIR   # label of the closing line, knob
#   native_check_binary                                       # sets SIGSTACK
#   native_check_database compose_check                       # sets DB_URL (a fresh database)
#   native_check_workdir compose-check                        # sets WORK
#   ... run the check; then: closing_printed=1; exit "$rc"

NATIVE_CHECK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=""
DB_NAME=""
ADMIN_URL=""
closing_printed=0
PSQL=psql

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

# shellcheck disable=SC2329 # runs from the EXIT trap
_native_check_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [[ -n "$DB_NAME" && -n "$ADMIN_URL" ]]; then
        "$PSQL" -X -w -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" \
            >/dev/null 2>&1 || log "could not drop database $DB_NAME"
    fi
    if [[ -n "$WORK" ]]; then
        if [[ "${!NATIVE_CHECK_KEEP:-}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if declare -F _sigstack_pg_cleanup >/dev/null; then
        _sigstack_pg_cleanup >/dev/null 2>&1 || true
    fi
    if [[ $closing_printed -eq 0 ]]; then
        printf '%s: 0 passed, 1 failed\n' "$NATIVE_CHECK_LABEL"
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}

_native_check_traps() {
    trap _native_check_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
}

# native_check_begin LABEL KEEP_VARIABLE: the closing line's label (also the log prefix) and
# the variable that, set to 1, keeps the scratch directory.
native_check_begin() {
    NATIVE_CHECK_LABEL=$1
    NATIVE_CHECK_KEEP=$2
    LOG_NAME=$1
    _native_check_traps
}

# SIGSTACK: $SIGSTACK_BIN if given, else a debug build.
native_check_binary() {
    if [[ -n "${SIGSTACK_BIN:-}" ]]; then
        SIGSTACK=$(realpath "$SIGSTACK_BIN")
    else
        log "cargo build -p sigstack"
        (cd "$NATIVE_CHECK_ROOT" && cargo build --quiet --locked -p sigstack)
        SIGSTACK="$NATIVE_CHECK_ROOT/target/debug/sigstack"
    fi
}

# native_check_database PREFIX: a PostgreSQL server (scripts/with-postgres.sh) and a fresh
# database PREFIX_<pid>_<random> in it, dropped on exit; DB_URL is its URL.
native_check_database() {
    # shellcheck source=scripts/with-postgres.sh
    source "$NATIVE_CHECK_ROOT/scripts/with-postgres.sh"
    sigstack_pg_start # exports SIGSTACK_TEST_DATABASE_URL; installs its own traps...
    _native_check_traps # ...which the cleanup chains to (it stops a throwaway cluster)
    PSQL=$(_sigstack_pg_client psql)
    [[ -n "$PSQL" ]] || { log "psql is needed to create a fresh database (apt-get install postgresql-client)"; exit 1; }
    ADMIN_URL=$SIGSTACK_TEST_DATABASE_URL
    DB_NAME="$1_$$_$RANDOM"
    "$PSQL" -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
    # The admin URL with its database replaced (query string, if any, kept).
    DB_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN_URL" "$DB_NAME")
}

# native_check_workdir NAME: WORK, a scratch directory removed on exit unless kept.
native_check_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
}
