#!/usr/bin/env bash
# Rekor interop suite: a live `sigstack rekor` (v1 and v2 APIs), with the CA, CT log and TSA it
# works beside, against sigstore-python, pinned and unmodified.
#
#   bash scripts/interop/rekor.sh
#
# It:
#   1. starts the test OIDC issuers, `sigstack ctlog`, `sigstack fulcio` (scripts/interop/lib.sh),
#      `sigstack rekor` and `sigstack tsa` on free loopback ports (SQLite), and writes two
#      sigstore-python ClientTrustConfigs (rekor_client.py trust): Rekor v1 only, and Rekor v2 +
#      our TSA;
#   2. with the `sigstore` CLI: sign + verify (hashedrekord 0.0.1 through Rekor v1), attest +
#      verify (dsse 0.0.1), sign + verify through Rekor v2 with an RFC 3161 timestamp from our
#      TSA (hashedrekord 0.0.2), attest through Rekor v2;
#   3. re-checks each bundle's log entry against the live logs with code written from the specs
#      (rekor_client.py check-v1 / check-v2: SETs, inclusion and consistency proofs, checkpoint
#      signatures, tiles, search);
#   4. negative: verification with another identity, another issuer, a tampered artifact and
#      tampered bundles (signature, proof root, canonical body) must fail in sigstore-python;
#      malformed requests get 4xx JSON errors and change no tree.
#
# sigstore-python is pinned (lib.sh) and cached in .cache/interop/ (the venv fulcio.sh uses too).
# Everything started is stopped, and the throwaway files removed, on any exit. Ends with one
# line on stdout, `rekor-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)


SUITE_NAME=rekor-interop
LOG_NAME="rekor interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack
ensure_sigstore_python
tools_ready "$("$PY" -c 'import sigstore; print("sigstore-python", sigstore.__version__)')"

RC="$REPO/scripts/interop/rekor_client.py"
SIGSTORE="$VENV/bin/sigstore"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-rekor-interop.XXXXXX")
D=$WORK

# --- servers ---------------------------------------------------------------------------

start_fulcio_stack "interop.sigstack.test/rekor-ctlog"
start_rekor
start_tsa
require "trust configs for this instance" "$PY" "$RC" trust --dir "$D" --ct-key "$D/ct.pem" \
    --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --tsa-url "$TSA_URL"

EMAIL=interop@sigstack.test
token() { "$PY" "$RC" token --dir "$D" --issuer-url "$ISSUER_URL"; }
printf 'hello from sigstack %s\n' "$(date +%s%N)" >"$D/artifact.txt"
printf 'another artifact\n' >"$D/other.txt"
printf '%s\n' '{"buildDefinition": {"buildType": "https://sigstack.test/build", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://sigstack.test/builder"}}}' >"$D/predicate.json"

# Runs the sigstore CLI quietly; its output goes to the log on failure.
sig() { "$SIGSTORE" "$@" >>"$D/sigstore-cli.log" 2>&1; }
verify() { # trust-config bundle artifact [identity] [issuer]
    sig --trust-config "$1" verify identity --offline --bundle "$2" \
        --cert-identity "${4:-$EMAIL}" --cert-oidc-issuer "${5:-$ISSUER_URL}" "$3"
}
refused() { ! "$@"; }

# --- Rekor v1 --------------------------------------------------------------------------

V1="$D/trust-v1.json"
check "sigstore-python signs through Rekor v1 (hashedrekord 0.0.1)" \
    sig --trust-config "$V1" sign --identity-token "$(token)" --bundle "$D/sign-v1.json" "$D/artifact.txt"
check "sigstore-python verifies the Rekor v1 bundle offline (SET, proof, checkpoint, SCT, identity)" \
    verify "$V1" "$D/sign-v1.json" "$D/artifact.txt"
check "the v1 entry, re-checked from the specs: SET, inclusion, checkpoint, consistency, search" \
    "$PY" "$RC" check-v1 --bundle "$D/sign-v1.json" --rekor-url "$REKOR_URL" --artifact "$D/artifact.txt"
check "sigstore-python attests through Rekor v1 (dsse 0.0.1)" \
    sig --trust-config "$V1" attest --predicate "$D/predicate.json" \
    --predicate-type https://slsa.dev/provenance/v1 --identity-token "$(token)" \
    --bundle "$D/attest-v1.json" "$D/artifact.txt"
check "sigstore-python verifies the DSSE attestation offline" \
    verify "$V1" "$D/attest-v1.json" "$D/artifact.txt"
check "the dsse entry, re-checked from the specs" \
    "$PY" "$RC" check-v1 --bundle "$D/attest-v1.json" --rekor-url "$REKOR_URL" --kind dsse --version 0.0.1
check "verification as another identity is refused" \
    refused verify "$V1" "$D/sign-v1.json" "$D/artifact.txt" someone-else@sigstack.test
check "verification with another issuer is refused" \
    refused verify "$V1" "$D/sign-v1.json" "$D/artifact.txt" "$EMAIL" "$ROGUE_URL"
check "verification of another artifact with the bundle is refused" \
    refused verify "$V1" "$D/sign-v1.json" "$D/other.txt"
"$PY" "$RC" tamper --bundle "$D/sign-v1.json" --out-prefix "$D/tampered-v1"
for t in signature proof-root body; do
    check "a v1 bundle with a tampered $t is refused" \
        refused verify "$V1" "$D/tampered-v1.$t.json" "$D/artifact.txt"
done

# --- Rekor v2 + TSA --------------------------------------------------------------------

V2="$D/trust-v2.json"
check "sigstore-python signs through Rekor v2 with our TSA (hashedrekord 0.0.2 + RFC 3161)" \
    sig --trust-config "$V2" sign --identity-token "$(token)" --bundle "$D/sign-v2.json" "$D/artifact.txt"
check "sigstore-python verifies the Rekor v2 bundle offline (proof, checkpoint, timestamp)" \
    verify "$V2" "$D/sign-v2.json" "$D/artifact.txt"
check "the v2 entry, re-checked from the specs: inclusion, Ed25519 checkpoint, tiles" \
    "$PY" "$RC" check-v2 --bundle "$D/sign-v2.json" --rekor-url "$REKOR_URL" --dir "$D"
check "sigstore-python attests through Rekor v2 (DSSE logged as hashedrekord 0.0.2)" \
    sig --trust-config "$V2" attest --predicate "$D/predicate.json" \
    --predicate-type https://slsa.dev/provenance/v1 --identity-token "$(token)" \
    --bundle "$D/attest-v2.json" "$D/artifact.txt"
check "sigstore-python verifies the Rekor v2 attestation offline" \
    verify "$V2" "$D/attest-v2.json" "$D/artifact.txt"
"$PY" "$RC" tamper --bundle "$D/sign-v2.json" --out-prefix "$D/tampered-v2"
for t in signature proof-root body; do
    check "a v2 bundle with a tampered $t is refused" \
        refused verify "$V2" "$D/tampered-v2.$t.json" "$D/artifact.txt"
done
check "a v2 bundle verified as another identity is refused" \
    refused verify "$V2" "$D/sign-v2.json" "$D/artifact.txt" someone-else@sigstack.test

# --- bad requests ----------------------------------------------------------------------

check "malformed and forged requests get 4xx JSON errors and change no tree" \
    "$PY" "$RC" bad --rekor-url "$REKOR_URL"

if [[ $failed -gt 0 ]]; then
    log "--- sigstore CLI output"
    tail -n 40 "$D/sigstore-cli.log" >&2 || true
fi
log "done in ${SECONDS}s"
summary_printed=1
printf 'rekor-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
