#!/usr/bin/env bash
# The project's one test command: `bash scripts/test.sh` (CI runs it via .ci/run).
#
#   1. formatting and lints (cargo fmt --check, clippy -D warnings);
#   2. a PostgreSQL server for the tests (scripts/with-postgres.sh: DATABASE_URL,
#      else 127.0.0.1:5432, else a throwaway cluster; see that file);
#   3. cargo test for the whole workspace;
#   4. interop suites against live servers (scripts/interop/): the CA with sigstore-python
#      and sigstore-js, the CT log with certspotter and an independent Python verifier.
#
# Stops at the first failing step and exits non-zero; a throwaway cluster is
# stopped and removed on any exit, including failure and Ctrl-C.
#
# While iterating, skip the lints with e.g.
#   scripts/with-postgres.sh cargo test -p tlog
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

# Only now: no point starting a server if the lints already failed.
step "PostgreSQL for the tests"
# shellcheck source=scripts/with-postgres.sh
source scripts/with-postgres.sh
sigstack_pg_start # exports SIGSTACK_TEST_DATABASE_URL; traps clean up on exit

step "cargo test --workspace --locked"
cargo test --workspace --locked

# ---- interop suites -------------------------------------------------------
# Add later suites here, after cargo test, one `step` + command each. They see
# SIGSTACK_TEST_DATABASE_URL too, and `set -e` fails the run on their failure.
# Print nothing after the last suite: CI reads cargo test's closing lines.
# ----------------------------------------------------------------------------

step "Fulcio interop with sigstore-python (scripts/interop/fulcio.sh)"
bash scripts/interop/fulcio.sh

step "Fulcio interop with sigstore-js (scripts/interop/fulcio_js.sh)"
bash scripts/interop/fulcio_js.sh

step "Fulcio interop with a real OpenID Provider (scripts/interop/fulcio_oidc_provider.sh)"
bash scripts/interop/fulcio_oidc_provider.sh

step "Rekor interop with sigstore-python (scripts/interop/rekor.sh)"
bash scripts/interop/rekor.sh

step "Rekor interop with sigstore-js (scripts/interop/rekor_js.sh)"
bash scripts/interop/rekor_js.sh

step "End to end: sigstack up with sigstore-python, sigstore-js and python-tuf (scripts/interop/e2e.sh)"
bash scripts/interop/e2e.sh

step "docker-compose.yml and Dockerfile checks, compose commands run natively (scripts/check-compose.sh)"
bash scripts/check-compose.sh

step "TUF repository interop with python-tuf (scripts/interop/tuf.sh)"
bash scripts/interop/tuf.sh

# Ends with its own closing line, `ctlog-interop: N passed, M failed`.
step "CT log interop (scripts/interop/ctlog.sh)"
bash scripts/interop/ctlog.sh
