#!/usr/bin/env bash
# The end-to-end suite (e2e.sh) with every key of the stack in encrypted files (--key-password-file).
set -euo pipefail
E2E_KEYS=encrypted exec bash "$(dirname "${BASH_SOURCE[0]}")/e2e.sh" "$@"
