#!/usr/bin/env bash
# Fulcio interop suite, sigstore-js side: a live `sigstack fulcio` (logging to a live
# `sigstack ctlog`) against sigstore-js's @sigstore/sign, pinned and unmodified.
#
#   bash scripts/interop/fulcio_js.sh
#
# It:
#   1. reuses fulcio_client.py (the sigstore-python suite's helper) for the throwaway root CA,
#      the two OIDC issuers (only the first in fulcio.yaml), their tokens, and the trust config;
#   2. starts `target/debug/sigstack ctlog` (SQLite) and `target/debug/sigstack fulcio` on
#      free loopback ports;
#   3. through sigstore-js (fulcio_js/fulcio_js.mjs): FulcioSigner.sign(data) (publicKeyRequest:
#      PEM key + proof of possession over the token's email), alone and inside
#      MessageSignatureBundleBuilder; the CAClient behind it, for the whole chain;
#   4. sigstore-js does not check SCTs when it obtains a certificate, so the leaves it got are
#      checked here with sigstore-python's verify_sct against our CT log's key (plus: signed by
#      our root, email SAN, issuer extension, one embedded SCT, no poison);
#   5. negative: a token from the issuer Fulcio doesn't know -> sign() rejects, HTTP 401 and
#      the server's message.
#
# sigstore-js is pinned by fulcio_js/package.json + package-lock.json (npm ci) and cached in
# .cache/interop/node-sigstore/; the Python side uses the pinned sigstore-python venv of
# lib.sh (the one fulcio.sh uses). Everything started is stopped, and the throwaway files
# removed, on any exit.
# Ends with one line on stdout, `fulcio-js-interop: N passed, M failed`, and exits non-zero
# if any check failed. KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
JS_SRC="$REPO/scripts/interop/fulcio_js"

SUITE_NAME=fulcio-js-interop
LOG_NAME="fulcio-js interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack

# sigstore-js: npm ci from the committed lock file; reinstalled when package*.json change.
ensure_node_packages "$JS_SRC" node-sigstore sigstore-js
export SIGSTORE_JS_DIR="$NODE_DIR"
JS=(node "$JS_SRC/fulcio_js.mjs")
# shellcheck disable=SC2016 # JavaScript, not shell
JS_VERSIONS=$(cd "$NODE_DIR" && node -e '
for (const p of ["@sigstore/sign", "@sigstore/core", "@sigstore/bundle", "make-fetch-happen"])
  process.stdout.write(`${p}@${require(p + "/package.json").version} `)')

ensure_sigstore_python
tools_ready "node $(node --version), $JS_VERSIONS"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-fulcio-js-interop.XXXXXX")
D=$WORK


# A fresh token (fulcio_client.mint: ES256, email + email_verified) into a file.
token() { # key-name issuer-url out-file
    "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import fulcio_client as f; from pathlib import Path
print(f.mint(f.load_key(Path(sys.argv[2])), sys.argv[3]))' \
        "$REPO/scripts/interop" "$D/issuer-$1.pem" "$2" >"$3"
}

# --- servers ---------------------------------------------------------------------------

start_fulcio_stack "interop.sigstack.test/fulcio-js-ctlog"

"$PY" "$FC" trust --dir "$D" --ct-key "$D/ct.pem" --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL"

# --- sigstore-js -----------------------------------------------------------------------

# The leaves sigstore-js obtained: fulcio_client.check_cert (root signature, SAN, issuer
# extension, no poison, exactly one embedded SCT) and sigstore-python's verify_sct against the
# CT key in our trust config.
leaves_ok() {
    "$PY" - "$REPO/scripts/interop" "$D" "$ISSUER_URL" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import fulcio_client as f
from cryptography import x509
from sigstore._internal.sct import verify_sct
from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig

d, iss = Path(sys.argv[2]), sys.argv[3]
root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
keyring = ClientTrustConfig.from_json((d / "trust-config.json").read_text()).trusted_root.ct_keyring(
    KeyringPurpose.SIGN
)
for name in ("leaf-signer.pem", "leaf-bundle.pem"):
    cert = x509.load_pem_x509_certificate((d / name).read_bytes())
    f.check_cert(cert, root, iss, f"sigstore-js {name}")
    verify_sct(cert, [root], keyring)
    print(f"sigstore-js {name}: embedded SCT verified against our CT log's key", file=sys.stderr)
EOF
}

ct_size() { "$PY" -c 'import sys, fulcio_client as f; print(f.sth_size(sys.argv[1]))' "$CT_URL"; }
export PYTHONPATH="$REPO/scripts/interop${PYTHONPATH:+:$PYTHONPATH}"

token good "$ISSUER_URL" "$D/token-good"
token rogue "$ROGUE_URL" "$D/token-rogue"
ct_before=$(ct_size)
check "sigstore-js FulcioSigner.sign + MessageSignatureBundleBuilder: leaf from our root, email SAN, signature verifies" \
    "${JS[@]}" sign --fulcio-url "$FULCIO_URL" --token "$D/token-good" --root "$D/root.pem" --out "$D"
check "sigstore-js CAClient (FulcioSigner's): chain [leaf, our root], leaf for the requested key" \
    "${JS[@]}" chain --fulcio-url "$FULCIO_URL" --token "$D/token-good" --root "$D/root.pem"
if [[ -s "$D/leaf-signer.pem" && -s "$D/leaf-bundle.pem" ]]; then
    check "sigstore-js's leaves: one embedded SCT, verified (sigstore-python verify_sct) against our CT log" leaves_ok
else
    failed=$((failed + 1))
    log "FAILED: no sigstore-js leaves to check the SCTs of"
fi
ct_after=$(ct_size)
check "CT log grew by the 3 precertificates ($ct_before -> $ct_after)" test "$ct_after" -ge $((ct_before + 3))
check "sigstore-js: a token from an issuer not in fulcio.yaml is rejected (401, server's message)" \
    "${JS[@]}" refuse --fulcio-url "$FULCIO_URL" --token "$D/token-rogue" --expect "$ROGUE_URL"

log "done in ${SECONDS}s"
summary_printed=1
printf 'fulcio-js-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
