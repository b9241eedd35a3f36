#!/usr/bin/env bash
# Fulcio interop suite with a real OpenID Provider: ID tokens from panva's oidc-provider (a
# certified OpenID Provider implementation, pinned and unmodified), obtained the way a relying
# party does, are turned into certificates by a live `sigstack fulcio` through sigstore-python.
#
#   bash scripts/interop/fulcio_oidc_provider.sh
#
# It:
#   1. starts three oidc-provider instances (oidc_provider/op.mjs serve), each with its own
#      keys: the OP, whose `sigstore` client gets ES256 ID tokens (its `not-sigstore` client
#      RS256 ones); the RSA OP, the same with RS256 for `sigstore`; and the late OP, whose
#      clock runs an hour behind (so its ID tokens are already expired when issued:
#      oidc-provider refuses a non-positive ID token lifetime);
#   2. makes a throwaway root CA (fulcio_client.py setup) and a fulcio.yaml naming the three
#      OPs as `email` issuers with client id `sigstore`, and starts `target/debug/sigstack
#      ctlog` (SQLite) and `target/debug/sigstack fulcio`;
#   3. gets ID tokens by the authorization-code flow with PKCE, over HTTP, through the OP's
#      development login and consent pages, redeemed at its token endpoint with the client
#      secret (op.mjs token): from the OP for clients `sigstore` and `not-sigstore`, from the
#      RSA OP and from the late OP for `sigstore`;
#   4. through sigstore-python (fulcio_client.py op-sign): SigningContext.signer() with the
#      OP's ES256 token and FulcioClient.signing_cert.post + verify_sct with the RSA OP's RS256
#      token obtain certificates: SAN rfc822Name = the token's email, issuer in .1.1 and .1.8
#      = the OP's URL, .1.24 = its sub, one embedded SCT verified against our CT log's key;
#   5. negative (fulcio_client.py op-refuse): the OP's token with its payload altered (email
#      changed, signature kept), the late OP's expired token, and the OP's token for client
#      `not-sigstore` are each refused with 401 naming the failed check, and nothing is logged.
#
# oidc-provider is pinned by oidc_provider/package.json + package-lock.json (npm ci) and cached
# in .cache/interop/node-oidc-provider/; sigstore-python is lib.sh's pinned venv (the one
# fulcio.sh uses). Everything started is stopped, and the throwaway files removed, on any
# exit. Ends with one line on stdout, `fulcio-oidc-interop: N passed, M failed`, and exits
# non-zero if any check failed. KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
OP_SRC="$REPO/scripts/interop/oidc_provider"

SUITE_NAME=fulcio-oidc-interop
LOG_NAME="fulcio-oidc interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# The RSA and late OPs are ours to stop too; lib.sh's trap stops the rest and prints the
# closing line (it reads the exit status first, so hand it over unchanged).
RSA_PID=""
LATE_PID=""
late_rc=0 # set by the trap
trap 'late_rc=$?; set +e; stop_pid "$RSA_PID"; stop_pid "$LATE_PID"; (exit $late_rc); cleanup' EXIT

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack

# oidc-provider: npm ci from the committed lock file; reinstalled when package*.json change.
ensure_node_packages "$OP_SRC" node-oidc-provider oidc-provider
export OIDC_PROVIDER_DIR="$NODE_DIR"
OP=(node "$OP_SRC/op.mjs")
OP_VERSION=$(cd "$NODE_DIR" && node -p 'require("oidc-provider/package.json").version')

ensure_sigstore_python
tools_ready "node $(node --version), oidc-provider@$OP_VERSION"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-fulcio-oidc-interop.XXXXXX")
D=$WORK

# --- servers ---------------------------------------------------------------------------

OP_PORT=$(free_port)
RSA_PORT=$(free_port)
LATE_PORT=$(free_port)
OP_URL="http://127.0.0.1:$OP_PORT"
RSA_URL="http://127.0.0.1:$RSA_PORT"
LATE_URL="http://127.0.0.1:$LATE_PORT"

"${OP[@]}" serve --port "$OP_PORT" >"$D/op.log" 2>&1 &
ISSUER_PID=$!
"${OP[@]}" serve --port "$RSA_PORT" --sigstore-alg RS256 >"$D/op-rsa.log" 2>&1 &
RSA_PID=$!
"${OP[@]}" serve --port "$LATE_PORT" --clock-offset=-3600 >"$D/op-late.log" 2>&1 &
LATE_PID=$!

# The root CA and its key; then the three OPs as email issuers.
"$PY" "$FC" setup --dir "$D" --issuer-url "$OP_URL"
for url in "$OP_URL" "$RSA_URL" "$LATE_URL"; do
    printf '  %s:\n    issuer-url: %s\n    client-id: sigstore\n    type: email\n' "$url" "$url"
done | { echo "oidc-issuers:"; cat; } >"$D/fulcio.yaml"

launch_ctlog "interop.sigstack.test/fulcio-oidc-ctlog"
require "oidc-provider $OP_VERSION serves discovery ($OP_URL)" \
    "$PY" "$FC" wait --url "$OP_URL/.well-known/openid-configuration" --timeout 30
require "RSA oidc-provider serves discovery ($RSA_URL)" \
    "$PY" "$FC" wait --url "$RSA_URL/.well-known/openid-configuration" --timeout 30
require "late oidc-provider serves discovery ($LATE_URL)" \
    "$PY" "$FC" wait --url "$LATE_URL/.well-known/openid-configuration" --timeout 30
wait_ctlog
start_fulcio

"$PY" "$FC" trust --dir "$D" --ct-key "$D/ct.pem" --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL"

# --- tokens from the OP ----------------------------------------------------------------

op_token() { # issuer client login out-file
    "${OP[@]}" token --issuer "$1" --client "$2" --secret "$2-secret" --login "$3" >"$4"
}
# The claims of a token, for the log.
claims() { "$PY" -c 'import sys, fulcio_client as f; print(f.jwt_claims(open(sys.argv[1]).read().strip()))' "$1"; }
export PYTHONPATH="$REPO/scripts/interop${PYTHONPATH:+:$PYTHONPATH}"

require "oidc-provider: authorization-code flow (PKCE, dev login + consent) gives an ID token for client sigstore" \
    op_token "$OP_URL" sigstore "alice@sigstack.test" "$D/token-op"
log "ID token claims: $(claims "$D/token-op")"
require "RSA oidc-provider: an RS256 ID token for client sigstore" \
    op_token "$RSA_URL" sigstore "bob@sigstack.test" "$D/token-rsa"
require "oidc-provider: an ID token for client not-sigstore" \
    op_token "$OP_URL" not-sigstore "alice@sigstack.test" "$D/token-other-aud"
require "late oidc-provider: an ID token issued an hour ago" \
    op_token "$LATE_URL" sigstore "alice@sigstack.test" "$D/token-expired"
log "late ID token claims: $(claims "$D/token-expired")"

# The OP's token with its payload changed (email -> mallory), header and signature kept.
"$PY" - "$D/token-op" >"$D/token-tampered" <<'EOF'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["email"] = "mallory@sigstack.test"
p = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(f"{h}.{p}.{s}")
EOF

# --- sigstore-python -------------------------------------------------------------------

check "sigstore-python SigningContext.signer(): certificate for the OP's ES256 token (SAN, .1.1/.1.8 issuer, .1.24 sub, SCT verified)" \
    "$PY" "$FC" op-sign --dir "$D" --token-file "$D/token-op" --fulcio-url "$FULCIO_URL" --mode signer --alg ES256
check "sigstore-python FulcioClient + verify_sct: certificate for the RSA OP's RS256 token, for the CSR's key" \
    "$PY" "$FC" op-sign --dir "$D" --token-file "$D/token-rsa" --fulcio-url "$FULCIO_URL" --mode client --alg RS256
refuse() { # token-file expected-words
    "$PY" "$FC" op-refuse --dir "$D" --token-file "$1" --fulcio-url "$FULCIO_URL" --ct-url "$CT_URL" --expect "$2"
}
check "the OP's token with an altered payload is refused (401: signature)" refuse "$D/token-tampered" "signature"
check "the late OP's expired token is refused (401: expired)" refuse "$D/token-expired" "expired"
check "the OP's RS256 token for client not-sigstore is refused (401: audience)" refuse "$D/token-other-aud" "audience"

log "done in ${SECONDS}s"
summary_printed=1
printf 'fulcio-oidc-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
