#!/usr/bin/env bash
# Fulcio interop suite: a live `sigstack fulcio` (logging to a live `sigstack ctlog`) against
# sigstore-python, pinned and unmodified.
#
#   bash scripts/interop/fulcio.sh
#
# It:
#   1. makes a throwaway ECDSA P-256 root CA and two throwaway OIDC issuers (Python's
#      http.server, ES256 JWKS), only the first of them in fulcio.yaml;
#   2. starts `target/debug/sigstack ctlog` (SQLite) and `target/debug/sigstack fulcio` on
#      free loopback ports, and writes a sigstore-python ClientTrustConfig holding our root
#      (certificateAuthorities), our CT log's key (ctlogs) and our CA's URL (caUrls);
#   3. through sigstore-python (fulcio_client.py sign): SigningContext.from_trust_config ->
#      signer(token) (the certificate request and SCT verification happen there), with and
#      without its certificate cache; and FulcioClient.signing_cert.post + verify_sct;
#   4. negative paths through sigstore-python (fulcio_client.py refuse): a token from the
#      issuer Fulcio doesn't know, a token for the known issuer signed with the wrong key
#      (both refused with HTTP 401 and the server's message), and a trusted root whose CT log
#      key is not our log's (sigstore-python's SCT verification must fail).
#
# sigstore-python is pinned and cached in .cache/interop/ (a Python venv). The servers and the
# issuer are stopped, and the throwaway files removed, on any exit. Ends with one line on
# stdout, `fulcio-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory (keys, logs, trust config) for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

# sigstore-python and its whole dependency closure, pinned.
PY_PINS="sigstore==4.5.1 sigstore-models==0.0.6 sigstore-rekor-types==0.0.18 \
annotated-types==0.8.0 certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3 \
cryptography==50.0.2 dnspython==2.9.2 email-validator==2.4.0 id==1.6.1 idna==3.20 \
markdown-it-py==4.3.0 mdurl==0.1.2 platformdirs==4.14.8 pycparser==3.12 pydantic==2.14.4 \
pydantic_core==2.50.5 Pygments==2.21.0 PyJWT==2.15.1 requests==2.34.2 rfc3161-client==1.0.9 \
rfc8785==0.1.4 rich==15.0.0 securesystemslib==1.6.0 tuf==7.0.1 typing-inspection==0.4.5 \
typing_extensions==4.16.0 urllib3==2.8.0"
CACHE="$REPO/.cache/interop"

SUITE_NAME=fulcio-interop
LOG_NAME="fulcio interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# --- tools -----------------------------------------------------------------------------

SECONDS=0
log "building sigstack"
cargo build -p sigstack --locked --quiet
SIGSTACK="$REPO/target/debug/sigstack"

mkdir -p "$CACHE"
VENV="$CACHE/venv-sigstore"
if [[ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PY_PINS" ]]; then
    log "installing sigstore-python (pinned) into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: --no-deps $PY_PINS
    "$VENV/bin/pip" check --disable-pip-version-check >/dev/null
    printf '%s' "$PY_PINS" >"$VENV/.pins"
fi
PY="$VENV/bin/python"
FC="$REPO/scripts/interop/fulcio_client.py"
log "tools ready after ${SECONDS}s: $("$PY" -c 'import sigstore; print("sigstore-python", sigstore.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-fulcio-interop.XXXXXX")
D=$WORK


# --- servers ---------------------------------------------------------------------------

start_fulcio_stack "interop.sigstack.test/fulcio-ctlog"

"$PY" "$FC" trust --dir "$D" --ct-key "$D/ct.pem" --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL"

# --- sigstore-python -------------------------------------------------------------------

args=(--dir "$D" --issuer-url "$ISSUER_URL" --rogue-url "$ROGUE_URL" --ct-url "$CT_URL"
    --fulcio-url "$FULCIO_URL")
check "sigstore-python SigningContext.signer(): certificates issued, SCTs verified (cached and uncached)" \
    "$PY" "$FC" sign "${args[@]}" --mode signer
check "sigstore-python FulcioClient.signing_cert.post + verify_sct: certificate and chain, SCT verified" \
    "$PY" "$FC" sign "${args[@]}" --mode client
check "sigstore-python: a token from an issuer not in fulcio.yaml is refused (401, server's message)" \
    "$PY" "$FC" refuse "${args[@]}" --case unknown-issuer
check "sigstore-python: a token signed with a key not in the issuer's JWKS is refused (401)" \
    "$PY" "$FC" refuse "${args[@]}" --case forged
check "sigstore-python: a trusted root without our CT log's key fails its SCT verification" \
    "$PY" "$FC" refuse "${args[@]}" --case decoy-ct

log "done in ${SECONDS}s"
summary_printed=1
printf 'fulcio-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
