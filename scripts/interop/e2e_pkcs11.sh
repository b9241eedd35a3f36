#!/usr/bin/env bash
# The end-to-end suite (e2e.sh) with every key of the stack in a SoftHSM2 token (up --keys-pkcs11).
set -euo pipefail
E2E_KEYS=pkcs11 exec bash "$(dirname "${BASH_SOURCE[0]}")/e2e.sh" "$@"
