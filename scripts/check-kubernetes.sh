#!/usr/bin/env bash
# Checks deploy/kubernetes without a cluster (scripts/kubernetes/check_kubernetes.py):
#
#   1. renders the overlays base, dev and production with `kubectl kustomize` (where kubectl is
#      installed) and with the small renderer scripts/kubernetes/render.py, which must agree;
#   2. validates every object against the Kubernetes OpenAPI schema with a pinned
#      kubernetes-validate (strict), installed into .cache/kubernetes-check/, and checks the
#      restricted Pod Security Standard, requests and limits, probes on the endpoints each
#      service serves, variables known to `--help`, replicas, strategies, budgets, Services,
#      NetworkPolicies and every Secret/ConfigMap reference;
#   3. runs the dev overlay natively: every container of the sigstack image with its command line,
#      environment and volumes from the rendered objects, against a fresh PostgreSQL database,
#      the init Job storing its Secret and ConfigMaps through a stand-in API server; Jobs exit 0,
#      pods pass their probes, two Rekor replicas serve one log, sigstore-python (pinned, the
#      interop suites' venv in .cache/interop/) signs and verifies through the TUF pod,
#      everything stops on SIGTERM.
#
# PostgreSQL comes from scripts/with-postgres.sh (DATABASE_URL, else 127.0.0.1:5432, else a
# throwaway cluster); a fresh database is created and dropped again.
#
# Ends with `kubernetes-check: N passed, M failed[, K skipped]`; exit status 1 if any failed.
# Knobs: SIGSTACK_BIN (a built binary; default: cargo build -p sigstack, debug),
#        KEEP_KUBERNETES_CHECK_DIR=1 (keep the scratch directory with every pod's log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

LOG_NAME=check-kubernetes
log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

CACHE="$ROOT/.cache/kubernetes-check"
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
        if [[ "${KEEP_KUBERNETES_CHECK_DIR:-}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if declare -F _sigstack_pg_cleanup >/dev/null; then
        _sigstack_pg_cleanup >/dev/null 2>&1 || true
    fi
    if [[ $closing_printed -eq 0 ]]; then
        printf 'kubernetes-check: 0 passed, 1 failed\n'
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the validator, pinned, in .cache ---------------------------------------------------------
REQS="$ROOT/scripts/kubernetes/requirements.txt"
VENV="$CACHE/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$REQS" "the validator"
PY="$VENV/bin/python"
# sigstore-python, the venv the interop suites share (scripts/interop/lib.sh: same pins, same
# place, the same lock): it signs and verifies through the dev overlay's TUF repository.
SIGSTORE_VENV="$ROOT/.cache/interop/venv-sigstore"
pinned_venv "$SIGSTORE_VENV" "$ROOT/scripts/interop/requirements-sigstore.txt" sigstore-python \
    --only-binary :all: --no-deps

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
DB_NAME="kubernetes_check_$$_$RANDOM"
"$PSQL" -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
# The admin URL with its database replaced (query string, if any, kept).
DB_URL=$("$PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN_URL" "$DB_NAME")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubernetes-check.XXXXXX")

# --- the checks -------------------------------------------------------------------------------
set +e
"$PY" scripts/kubernetes/check_kubernetes.py \
    --sigstack "$SIGSTACK" \
    --database-url "$DB_URL" \
    --sigstore-python "$SIGSTORE_VENV/bin/sigstore" \
    --work "$WORK/run"
rc=$?
set -e
closing_printed=1
exit "$rc"
