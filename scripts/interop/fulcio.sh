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
#      free loopback ports, the CT log as two temporal shards open side by side and Fulcio
#      reading their layout (--ct-shards), and writes a sigstore-python ClientTrustConfig holding our root
#      (certificateAuthorities), our CT log's key (ctlogs) and our CA's URL (caUrls);
#   3. through sigstore-python (fulcio_client.py sign): SigningContext.from_trust_config ->
#      signer(token) (the certificate request and SCT verification happen there), with and
#      without its certificate cache; and FulcioClient.signing_cert.post + verify_sct;
#   4. negative paths through sigstore-python (fulcio_client.py refuse): a token from the
#      issuer Fulcio doesn't know, a token for the known issuer signed with the wrong key
#      (both refused with HTTP 401 and the server's message), and a trusted root whose CT log
#      key is not our log's (sigstore-python's SCT verification must fail).
#
# sigstore-python is pinned (lib.sh) and cached in .cache/interop/ (a Python venv). The servers and the
# issuer are stopped, and the throwaway files removed, on any exit. Ends with one line on
# stdout, `fulcio-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory (keys, logs, trust config) for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)


SUITE_NAME=fulcio-interop
LOG_NAME="fulcio interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack
ensure_sigstore_python
tools_ready "$("$PY" -c 'import sigstore; print("sigstore-python", sigstore.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-fulcio-interop.XXXXXX")
D=$WORK


# --- servers ---------------------------------------------------------------------------

# The CT log runs as two temporal shards open side by side, and Fulcio, deployed on its own,
# reads their layout (--ct-shards): shard 1 (key ct.pem, at the CT log's URL itself) accepts
# certificates expiring within a year, shard 2 (a new key, at /shards/2) those of the year after.
# Every certificate here expires in ten minutes, so Fulcio must choose shard 1, not the newest:
# the SCT checks below verify against ct.pem, and shard 2 stays empty.
"$PY" - "$D" <<'PY'
import datetime, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
d = sys.argv[1]
key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
with open(f"{d}/ct.pem", "wb") as f:
    f.write(key)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
at = lambda days: (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
layout = {"frozen": [{"key": "ct.pem", "not_after": {"start": at(-1), "end": at(365)}, "accepting": True}],
          "not_after": {"start": at(365), "end": at(730)}}
with open(f"{d}/ct-shards.json", "w") as f:
    json.dump(layout, f)
PY
CT_KEY="$D/ct-next.pem"
CTLOG_FLAGS=(--shards "$D/ct-shards.json")
FULCIO_FLAGS=(--ct-shards "$D/ct-shards.json")
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
temporal_shards_chosen() {
    "$PY" - "$CT_URL" <<'PY'
import json, sys, urllib.request
ct = sys.argv[1]
def size(path):
    with urllib.request.urlopen(f"{ct}{path}/ct/v1/get-sth", timeout=10) as r:
        return json.load(r)["tree_size"]
assert size("") >= 1 and size("/shards/2") == 0, (size(""), size("/shards/2"))
PY
}
check "Fulcio (--ct-shards) logged every certificate in the shard whose window holds its notAfter (shard 1), none in the newest" \
    temporal_shards_chosen

log "done in ${SECONDS}s"
summary_printed=1
printf 'fulcio-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
