#!/usr/bin/env bash
# Installs the pinned tools that several interop suites share (sigstore-python, python-tuf,
# sigstore-js, oidc-provider, Selenium; Debian's chromium with apt-get) into .cache/interop/,
# exactly as the suites' own ensure_* calls would: scripts/test.sh runs it in the background while cargo builds, so that the suites,
# which then run side by side, find them ready and never install the same venv at once.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SUITE_NAME=interop-tools
LOG_NAME="interop tools"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

SECONDS=0
ensure_sigstore_python
ensure_venv venv-tuf python-tuf "$REPO/scripts/interop/requirements-tuf.txt"
ensure_venv venv-browser selenium "$REPO/scripts/interop/requirements-browser.txt"
# The browser of explorer.sh: Debian's chromium and chromium-driver, installed by apt-get.
bash "$REPO/scripts/chromium.sh" >/dev/null
ensure_node_packages "$REPO/scripts/interop/fulcio_js" node-sigstore sigstore-js
ensure_node_packages "$REPO/scripts/interop/rekor_js" node-rekor-js sigstore-js
ensure_node_packages "$REPO/scripts/interop/oidc_provider" node-oidc-provider oidc-provider
log "ready after ${SECONDS}s"
# Not a suite: no closing line of checks.
summary_printed=1
