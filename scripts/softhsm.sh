#!/usr/bin/env bash
# Makes SoftHSM2 (a PKCS#11 token in files) and OpenSC's pkcs11-tool available for the tests of
# keys in tokens (keys/tests/softhsm.rs, scripts/interop/e2e_pkcs11.sh): installs the Debian
# packages softhsm2 and opensc when missing, with apt-get (as root, or through sudo).
#
#   bash scripts/softhsm.sh        # prints the module's path
set -euo pipefail

module() {
    local m
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        [[ -f "$m" ]] && { echo "$m"; return 0; }
    done
    return 1
}

if ! module >/dev/null || ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    command -v apt-get >/dev/null || {
        echo "softhsm: SoftHSM2 is not installed and there is no apt-get: install softhsm2 and opensc" >&2
        exit 1
    }
    echo "softhsm: installing softhsm2 and opensc" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q softhsm2 opensc >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null &&
            DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q softhsm2 opensc >/dev/null; }
fi
module
