#!/usr/bin/env bash
# The project's one test command: `bash scripts/test.sh` (CI runs it via .ci/run).
#
#   1. formatting and lints: cargo fmt --check, shellcheck + ruff on scripts/ and cargo-deny
#      (scripts/lint.sh), clippy -D warnings; meanwhile, in the background, the pinned interop
#      tools are installed into .cache/ (scripts/interop/tools.sh);
#   2. a PostgreSQL server for the tests (scripts/with-postgres.sh: DATABASE_URL, else
#      127.0.0.1:5432, else a throwaway cluster from installed binaries or from the pgserver
#      package; see that file);
#   3. cargo test for the whole workspace (which also builds target/debug/sigstack);
#   4. against that binary, in two lanes side by side (scripts/interop/run-all.sh): the interop
#      suites driving real clients (sigstore-python, sigstore-js, python-tuf, an OpenID
#      Provider, certspotter, openssl, the compose checks) and the API conformance suite
#      (schemathesis with upstream's API documents, scripts/conformance/).
#
# Stops at the first failing step and exits non-zero; a throwaway cluster is stopped and
# removed on any exit, including failure and Ctrl-C. Each step's start is stamped with the
# seconds since the start, for the breakdown in the README.
#
# While iterating, skip the lints with e.g.
#   scripts/with-postgres.sh cargo test -p sigstack-tlog
# and run one suite with e.g. `SIGSTACK_BIN=target/debug/sigstack bash scripts/interop/rekor.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS=0
step() { printf '\n==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }

step "cargo fmt --all --check"
cargo fmt --all --check

step "shellcheck, ruff and cargo-deny (scripts/lint.sh)"
bash scripts/lint.sh

# Network-bound: overlaps the compiler's CPU-bound work.
mkdir -p .cache
step "interop tools, in the background (scripts/interop/tools.sh > .cache/interop-tools.log)"
bash scripts/interop/tools.sh >.cache/interop-tools.log 2>&1 &
tools_pid=$!

step "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "SoftHSM2 for the tests of keys in tokens (scripts/softhsm.sh)"
bash scripts/softhsm.sh

# Only now: no point starting a server if the lints already failed.
step "PostgreSQL for the tests"
# shellcheck source=scripts/with-postgres.sh
source scripts/with-postgres.sh
sigstack_pg_start # exports SIGSTACK_TEST_DATABASE_URL; traps clean up on exit
# The suites create their databases with psql: where no client is installed, use the one that
# came with the throwaway cluster's binaries (the pgserver package ships it too).
if ! command -v psql >/dev/null 2>&1; then
    psql_path=$(_sigstack_pg_client psql || true)
    if [[ -n "$psql_path" ]]; then
        PATH="$(dirname "$psql_path"):$PATH"
        export PATH
    fi
fi

# --all-features: the load generators too, which the multi-process tests drive.
step "cargo test --workspace --all-features --locked"
cargo test --workspace --all-features --locked

step "interop tools ready"
if ! wait "$tools_pid"; then
    cat .cache/interop-tools.log >&2
    echo "the interop tools could not be installed" >&2
    exit 1
fi
cat .cache/interop-tools.log >&2

# The suites run the binary cargo test just built: building it again with `cargo build` would
# resolve other dependency features and recompile half the workspace.
step "interop and conformance suites against target/debug/sigstack (scripts/interop/run-all.sh)"
SIGSTACK_BIN="$PWD/target/debug/sigstack" bash scripts/interop/run-all.sh
