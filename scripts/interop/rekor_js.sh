#!/usr/bin/env bash
# Rekor interop suite, sigstore-js side: a live `sigstack rekor` (with `sigstack fulcio`,
# `sigstack ctlog` and `sigstack tsa`) against sigstore-js, pinned and unmodified: the `sigstore`
# library (sign, attest), @sigstore/cli (`sigstore attest`), and @sigstore/verify (offline
# verification against a trusted root for OUR instance).
#
#   bash scripts/interop/rekor_js.sh
#
# It:
#   1. reuses fulcio_client.py for the throwaway root CA, the OIDC issuer and its tokens;
#   2. starts `target/debug/sigstack` ctlog, fulcio, rekor (SQLite) and tsa on free loopback
#      ports, and writes trusted_root.json for them (Fulcio root; CT key; Rekor v1 key from
#      GET /api/v1/log/publicKey, logId = SHA-256 of its DER SPKI; TSA chain from
#      GET /api/v1/timestamp/certchain);
#   3. signs with sigstore.sign (hashedrekord 0.0.1), sigstore.attest (dsse 0.0.1) and
#      `sigstore attest` from @sigstore/cli (intoto 0.0.2), with and without our TSA; checks
#      each bundle's tlog entry (kind/version, logIndex, our logId, SET, inclusion proof +
#      checkpoint, the same body in our log) and verifies it offline with @sigstore/verify
#      (toTrustMaterial + Verifier, what sigstore.verify runs after its TUF fetch) under the
#      policy certificateIdentityEmail + certificateIssuer;
#   4. negative: another email, another issuer, a tampered artifact or DSSE payload, a trusted
#      root with another key for our Rekor, and bundles with a flipped byte in the signature,
#      the SET, the checkpoint's root hash and an inclusion-proof hash must all be rejected.
# The CLI's own `sigstore verify` always fetches the trusted root over TUF (no offline or
# trusted-root flag in @sigstore/cli 0.8.1), so it is not run here; its bundles are verified
# with the library instead.
#
# sigstore-js is pinned by rekor_js/package.json + package-lock.json (npm ci) and cached in
# .cache/interop/node-rekor-js/; the Python side uses lib.sh's pinned sigstore-python venv. Everything
# started is stopped, and the throwaway files removed, on any exit. Ends with one line on
# stdout, `rekor-js-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
JS_SRC="$REPO/scripts/interop/rekor_js"

SUITE_NAME=rekor-js-interop
LOG_NAME="rekor-js interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack

# sigstore-js: npm ci from the committed lock file; reinstalled when package*.json change.
ensure_node_packages "$JS_SRC" node-rekor-js sigstore-js
export SIGSTORE_JS_DIR="$NODE_DIR"
JS=(node "$JS_SRC/rekor_js.mjs")
CLI=(node "$NODE_DIR/node_modules/@sigstore/cli/bin/run")
# shellcheck disable=SC2016 # JavaScript, not shell
JS_VERSIONS=$(cd "$NODE_DIR" && node -e '
const { createRequire } = require("module");
const s = createRequire(require.resolve("sigstore/package.json"));
const c = createRequire(require.resolve("@sigstore/cli/package.json"));
const v = (r, p) => `${p}@${r(p + "/package.json").version}`;
process.stdout.write([v(require, "sigstore"), v(s, "@sigstore/sign"), v(s, "@sigstore/verify"), v(s, "@sigstore/bundle"),
  v(require, "@sigstore/cli"), "(cli: " + v(c, "@sigstore/sign") + ")"].join(" "))')

# sigstore-python's venv (lib.sh's pins, one cache for all suites): only fulcio_client.py
# (setup, issuer, tokens) runs in it here.
ensure_sigstore_python
tools_ready "node $(node --version), $JS_VERSIONS"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-rekor-js-interop.XXXXXX")
D=$WORK

# A fresh token from the configured issuer (fulcio_client.mint: ES256, email + email_verified,
# sub "interop-subject") into a file. With a second argument, sub = the email: the CLI's
# @sigstore/sign 3.x signs the proof of possession over `sub` for any issuer but Google's and
# sigstore's own, while Fulcio (upstream, and ours) checks it over the email for an email
# issuer; sigstore 4.x signs over the email whenever the token has one.
token() { # out-file [sub=email]
    "$PY" - "$REPO/scripts/interop" "$D/issuer-good.pem" "$ISSUER_URL" "${2:-}" >"$1" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import json
from pathlib import Path
import fulcio_client as f
key = f.load_key(Path(sys.argv[2]))
tok = f.mint(key, sys.argv[3])
if sys.argv[4]:  # the same token, re-signed with sub = email
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    head, claims, _ = tok.split(".")
    c = f.jwt_claims(tok)
    c["sub"] = c["email"]
    signing_input = head + "." + f.b64u(json.dumps(c, separators=(",", ":")).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    tok = signing_input + "." + f.b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
print(tok)
PYEOF
}

# --- servers ---------------------------------------------------------------------------

start_fulcio_stack "interop.sigstack.test/rekor-js-ctlog"
start_rekor
start_tsa

EMAIL=interop@sigstack.test
require "trusted_root.json for our instance (Fulcio root, CT key, Rekor v1 key, TSA chain)" \
    "${JS[@]}" trust --root "$D/root.pem" --ct-key "$D/ct.pem" --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL" \
    --rekor-url "$REKOR_URL" --tsa-url "$TSA_URL" --out "$D/trusted_root.json" --decoy-out "$D/trusted_root-decoy-rekor.json"

# --- sign, attest ----------------------------------------------------------------------

printf 'sigstack rekor-js interop %s\n' "$(date +%s%N)" >"$D/artifact.txt"
printf 'sigstack rekor-js interop, tampered\n' >"$D/artifact-tampered.txt"
cat >"$D/stmt.json" <<EOF
{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"artifact.txt","digest":{"sha256":"$(sha256sum "$D/artifact.txt" | cut -d' ' -f1)"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://sigstack.test/interop","externalParameters":{}},"runDetails":{"builder":{"id":"https://sigstack.test/rekor-js"}}}}
EOF

# verify_ok bundle [artifact] [--tsa 1]: the positive verification with our identity.
verify_ok() {
    local bundle=$1 artifact=$2
    shift 2
    have "$bundle" || return 1
    "${JS[@]}" verify --bundle "$bundle" --trusted-root "$D/trusted_root.json" ${artifact:+--artifact "$artifact"} \
        --email "$EMAIL" --issuer "$ISSUER_URL" "$@"
}
# verify_rejected bundle artifact email issuer codes [trusted-root]
verify_rejected() {
    have "$1" || return 1
    "${JS[@]}" verify --bundle "$1" --trusted-root "${6:-$D/trusted_root.json}" ${2:+--artifact "$2"} \
        --email "$3" --issuer "$4" --expect-fail "$5"
}
# have file...: every file exists (a check whose inputs a failed step did not produce fails).
have() {
    local f
    for f in "$@"; do
        [[ -s "$f" ]] || { log "missing $f (an earlier step failed)"; return 1; }
    done
}
# inspect bundle kind version [--tsa 1]
inspect() {
    have "$1" && "${JS[@]}" inspect --bundle "$1" --kind "$2" --version "$3" --rekor-url "$REKOR_URL" "${@:4}"
}

# 1. sigstore.sign -> hashedrekord 0.0.1
token "$D/tok1"
check "sigstore.sign(data, {fulcioURL, rekorURL, identityToken}) with our Fulcio + Rekor" \
    "${JS[@]}" sign --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --token "$D/tok1" \
    --artifact "$D/artifact.txt" --out "$D/sign.json"
check "sign bundle: one hashedrekord 0.0.1 entry from our Rekor (logIndex, our logId, SET, inclusion proof + checkpoint, body = our log's)" \
    inspect "$D/sign.json" hashedrekord 0.0.1
check "sign bundle verifies offline (@sigstore/verify, our trusted root, email + issuer policy)" \
    verify_ok "$D/sign.json" "$D/artifact.txt"

# 2. sigstore.attest -> dsse 0.0.1
token "$D/tok2"
check "sigstore.attest(statement, in-toto, {fulcioURL, rekorURL, identityToken})" \
    "${JS[@]}" attest --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --token "$D/tok2" \
    --payload "$D/stmt.json" --payload-type application/vnd.in-toto+json --out "$D/attest.json"
check "attest bundle: one dsse 0.0.1 entry from our Rekor (logIndex, our logId, SET, inclusion proof + checkpoint)" \
    inspect "$D/attest.json" dsse 0.0.1
check "attest bundle verifies offline (@sigstore/verify, email + issuer policy)" \
    verify_ok "$D/attest.json" ""

# 3. @sigstore/cli attest -> intoto 0.0.2
token "$D/tok3" sub=email
cli_attest() { # out [extra flags]
    local out=$1
    shift
    CI=true SIGSTORE_ID_TOKEN=$(cat "$D/tok3") "${CLI[@]}" attest --fulcio-url "$FULCIO_URL" \
        --rekor-url "$REKOR_URL" "$@" -o "$out" "$D/stmt.json" 2>"$D/cli-attest.err" ||
        { cat "$D/cli-attest.err" >&2; return 1; }
}
check "@sigstore/cli: CI=true SIGSTORE_ID_TOKEN=… sigstore attest --fulcio-url --rekor-url -o out.json stmt.json" \
    cli_attest "$D/cli.json"
check "CLI bundle: one intoto 0.0.2 entry from our Rekor (logIndex, our logId, SET, inclusion proof + checkpoint)" \
    inspect "$D/cli.json" intoto 0.0.2
check "CLI bundle verifies offline (@sigstore/verify; the CLI's own verify needs TUF)" \
    verify_ok "$D/cli.json" ""

# 4. with our TSA
token "$D/tok4"
check "sigstore.sign with tsaServerURL = our TSA" \
    "${JS[@]}" sign --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --tsa-url "$TSA_URL" --token "$D/tok4" \
    --artifact "$D/artifact.txt" --out "$D/sign-tsa.json"
check "sign+TSA bundle: hashedrekord 0.0.1 entry + one RFC 3161 timestamp" inspect "$D/sign-tsa.json" hashedrekord 0.0.1 --tsa 1
check "sign+TSA bundle verifies offline, the RFC 3161 timestamp verified against our TSA chain" \
    verify_ok "$D/sign-tsa.json" "$D/artifact.txt" --tsa 1
token "$D/tok3" sub=email
check "@sigstore/cli attest --tsa-server-url our TSA" cli_attest "$D/cli-tsa.json" --tsa-server-url "$TSA_URL"
check "CLI+TSA bundle: intoto 0.0.2 entry + one RFC 3161 timestamp" inspect "$D/cli-tsa.json" intoto 0.0.2 --tsa 1
check "CLI+TSA bundle verifies offline, the RFC 3161 timestamp verified against our TSA chain" \
    verify_ok "$D/cli-tsa.json" "" --tsa 1

# 5. negative
if have "$D/sign.json"; then
    check "rejected: another identity email (UNTRUSTED_SIGNER_ERROR)" \
        verify_rejected "$D/sign.json" "$D/artifact.txt" someone-else@sigstack.test "$ISSUER_URL" UNTRUSTED_SIGNER_ERROR
    check "rejected: another issuer (UNTRUSTED_SIGNER_ERROR)" \
        verify_rejected "$D/sign.json" "$D/artifact.txt" "$EMAIL" "$ROGUE_URL" UNTRUSTED_SIGNER_ERROR
    check "rejected: a tampered artifact (SIGNATURE_ERROR)" \
        verify_rejected "$D/sign.json" "$D/artifact-tampered.txt" "$EMAIL" "$ISSUER_URL" SIGNATURE_ERROR
    check "rejected: a trusted root with another key under our Rekor's logId (TLOG_INCLUSION_PROMISE_ERROR)" \
        verify_rejected "$D/sign.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" TLOG_INCLUSION_PROMISE_ERROR \
        "$D/trusted_root-decoy-rekor.json"
    for what in signature set checkpoint-root proof-root; do
        "${JS[@]}" tamper --bundle "$D/sign.json" --what "$what" --out "$D/sign-$what.json" || true
    done
    check "rejected: sign bundle with a flipped signature byte (TLOG_BODY_ERROR: the tlog body's signature differs)" \
        verify_rejected "$D/sign-signature.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" TLOG_BODY_ERROR,SIGNATURE_ERROR
    check "rejected: sign bundle with a flipped SET byte (TLOG_INCLUSION_PROMISE_ERROR)" \
        verify_rejected "$D/sign-set.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" TLOG_INCLUSION_PROMISE_ERROR
    check "rejected: sign bundle with a flipped byte in the checkpoint's root hash (TLOG_INCLUSION_PROOF_ERROR)" \
        verify_rejected "$D/sign-checkpoint-root.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" TLOG_INCLUSION_PROOF_ERROR
    # sigstore-js recomputes the root from the proof and compares it with the SIGNED checkpoint's
    # root hash line; it never reads the inclusionProof.rootHash field (inspect checks that our
    # server makes the two agree). So a flip there alone is not a rejection: logged, not counted.
    if verify_rejected "$D/sign-proof-root.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" "" 2>"$D/proof-root.err"; then
        log "note: a flipped inclusionProof.rootHash field is rejected: $(tail -n 1 "$D/proof-root.err")"
    else
        log "note: sigstore-js accepts a flipped inclusionProof.rootHash field (it verifies the checkpoint's root hash, not this field)"
    fi
else
    failed=$((failed + 1))
    log "FAILED: no sigstore.sign bundle for the negative checks"
fi
if have "$D/attest.json"; then
    "${JS[@]}" tamper --bundle "$D/attest.json" --what signature --out "$D/attest-signature.json" || true
    check "rejected: attest (dsse) bundle with a flipped signature byte" \
        verify_rejected "$D/attest-signature.json" "" "$EMAIL" "$ISSUER_URL" TLOG_BODY_ERROR,SIGNATURE_ERROR
    "${JS[@]}" tamper --bundle "$D/attest.json" --what payload --out "$D/attest-payload.json" || true
    check "rejected: attest bundle with a tampered DSSE payload (the attested statement)" \
        verify_rejected "$D/attest-payload.json" "" "$EMAIL" "$ISSUER_URL" TLOG_BODY_ERROR,SIGNATURE_ERROR
    # The second entry of the log: its inclusion proof has a hash to flip.
    "${JS[@]}" tamper --bundle "$D/attest.json" --what proof-hash --out "$D/attest-proof-hash.json" || true
    check "rejected: attest bundle with a flipped byte in an inclusion-proof hash (TLOG_INCLUSION_PROOF_ERROR)" \
        verify_rejected "$D/attest-proof-hash.json" "" "$EMAIL" "$ISSUER_URL" TLOG_INCLUSION_PROOF_ERROR
fi
if have "$D/sign-tsa.json"; then
    "${JS[@]}" tamper --bundle "$D/sign-tsa.json" --what signature --out "$D/sign-tsa-signature.json" || true
    check "rejected: sign+TSA bundle with a flipped signature byte (the timestamp no longer covers it: TIMESTAMP_ERROR)" \
        verify_rejected "$D/sign-tsa-signature.json" "$D/artifact.txt" "$EMAIL" "$ISSUER_URL" TIMESTAMP_ERROR
fi

log "done in ${SECONDS}s"
summary_printed=1
printf 'rekor-js-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
