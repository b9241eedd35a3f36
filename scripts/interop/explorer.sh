#!/usr/bin/env bash
# Browser suite of the log explorer: `sigstack up` (which serves the explorer), entries made by
# unmodified sigstore-python and sigstore-js, and Debian's chromium, headless, driven through
# chromium-driver by Selenium (scripts/interop/explorer_browser.py):
#   - the overview verifies each log's checkpoint in the browser (Rekor v1 ECDSA note, Rekor v2
#     Ed25519 note, CT signed tree head), and after new entries proves each consistent with
#     what the browser saw before;
#   - search by digest, identity, PEM certificate, certificate fingerprint, UUID and log index;
#     every entry opened shows the verified badge, its identity, issuer, digest, SCTs and time;
#     Rekor v2 and CT entries are browsed newest first and verified (Rekor v2 proofs built from
#     tiles);
#   - a bundle from disk shows its DSSE payload; a Rekor v2 bundle's RFC 3161 timestamp (our
#     TSA's, through sigstore-python) is verified in the browser, an altered one is NOT;
#   - bad input (malformed terms, unknown UUIDs and indexes, no such page) and a log that is
#     down give a clear message in the page; keyboard use; a phone-sized screen;
#   - a second `sigstack explorer` reads the logs through a proxy that alters every proof
#     (scripts/interop/explorer_stubs.py): each entry shows NOT verified;
#   - a real `sigstack monitor` follows the stack's Rekor v2 and CT logs with a watch list
#     matching sigstore-python's identity; a third explorer (`--monitor-url`) lists its
#     findings, each linking to its entry, which opens verified;
#   - the explorer forwards no write: POSTs to the logs and paths out of the API are refused.
#
#   bash scripts/interop/explorer.sh
#   EXPLORER_SCREENSHOTS=docs/explorer bash scripts/interop/explorer.sh   # refresh the PNGs
#
# Ends with one line on stdout, `explorer-browser: N passed, M failed`. KEEP_INTEROP_DIR=1
# keeps the work directory.

# The `bash -c '...' _ ARGS` checks below expand their own $1.. on purpose.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
SUITE_NAME=explorer-browser
LOG_NAME="explorer browser"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"
UP_PID=""
STUB_PIDS=()
stop_all() {
    local pid
    for pid in "${STUB_PIDS[@]}"; do stop_pid "$pid"; done
    stop_pid "$UP_PID"
}
trap 'stop_all; cleanup' EXIT

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack
{ read -r BROWSER && read -r DRIVER; } < <(bash "$REPO/scripts/chromium.sh") ||
    { log "Chromium is not installed and could not be (scripts/chromium.sh)"; exit 1; }
ensure_venv venv-browser selenium "$REPO/scripts/interop/requirements-browser.txt"
BROWSER_PY=$PY
ensure_node_packages "$REPO/scripts/interop/rekor_js" node-rekor-js sigstore-js
SIGSTORE_JS_DIR="$NODE_DIR"
export SIGSTORE_JS_DIR
ensure_sigstore_python
tools_ready "$("$BROWSER" --version 2>/dev/null | head -n 1), Selenium 4.51, sigstore-python, sigstore-js"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-explorer.XXXXXX")
D=$WORK

# --- the browser's Merkle code, alone ---------------------------------------------------

check "the page's verification code against RFC 6962 on trees of 1 to 300 leaves and upstream vectors (node --test explorer/tests/)" \
    bash -c 'node --test "$1/explorer/tests/" >"$2/node-test.log" 2>&1' _ "$REPO" "$D"

# --- the stack and its entries ---------------------------------------------------------

up_listen_on_free_ports
RUST_LOG=info "$SIGSTACK" up --data-dir "$D/data" >"$D/up.log" 2>&1 &
UP_PID=$!
wait_ready() {
    local u
    for u in "$CT_URL/ct/v1/get-sth" "$FULCIO_URL/healthz" "$REKOR_URL/healthz" "$TSA_URL/healthz" \
        "$TUF_URL/timestamp.json" "$EXPLORER_URL/healthz"; do
        "$PY" "$FC" wait --url "$u" --timeout 120 || return 1
    done
}
require "sigstack up starts every service and the explorer ($EXPLORER_URL)" wait_ready
T="$D/data/trust"
EMAIL=alice@sigstack.test
token() { "$SIGSTACK" token "$EMAIL"; }
printf 'explorer artifact %s\n' "$(date +%s%N)" >"$D/artifact.txt"
printf '%s\n' '{"buildDefinition": {"buildType": "https://sigstack.test/build", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://sigstack.test/builder"}}}' >"$D/predicate.json"
SP="$VENV/bin/sigstore"
sp() { "$SP" --trust-config "$T/trust_config.json" "$@" >>"$D/sigstore-python.log" 2>&1; }
require "sigstore-python signs through Rekor v1" \
    sp sign --rekor-version 1 --identity-token "$(token)" --bundle "$D/py-v1.json" "$D/artifact.txt"
require "sigstore-python attests (DSSE) through Rekor v1" \
    sp attest --rekor-version 1 --predicate "$D/predicate.json" --predicate-type https://slsa.dev/provenance/v1 \
    --identity-token "$(token)" --bundle "$D/py-attest.json" "$D/artifact.txt"
require "sigstore-python signs through Rekor v2 + TSA" \
    sp sign --identity-token "$(token)" --bundle "$D/py-v2.json" "$D/artifact.txt"
printf '%s\n' "{\"_type\": \"https://in-toto.io/Statement/v1\", \"subject\": [{\"name\": \"artifact.txt\", \"digest\": {\"sha256\": \"$(sha256sum "$D/artifact.txt" | cut -d' ' -f1)\"}}], \"predicateType\": \"https://slsa.dev/provenance/v1\", \"predicate\": {}}" >"$D/statement.json"
require "sigstore-js CLI attests (intoto)" \
    env CI=true SIGSTORE_ID_TOKEN="$(token)" node "$SIGSTORE_JS_DIR/node_modules/@sigstore/cli/bin/run" attest \
    --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" -o "$D/js-attest.json" "$D/statement.json"
token >"$D/js-token.txt"
require "sigstore-js library signs a blob (Rekor v1)" \
    node "$REPO/scripts/interop/rekor_js/rekor_js.mjs" sign --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" \
    --token "$D/js-token.txt" --artifact "$D/artifact.txt" --out "$D/js-sign.json"
# What the browser checks grows every log by one entry (and the CT log by two certificates).
cat >"$D/grow.sh" <<EOF
set -e
"$SP" --trust-config "$T/trust_config.json" sign --rekor-version 1 --identity-token "\$("$SIGSTACK" token $EMAIL)" --bundle "$D/grow-v1.json" "$D/predicate.json"
"$SP" --trust-config "$T/trust_config.json" sign --identity-token "\$("$SIGSTACK" token $EMAIL)" --bundle "$D/grow-v2.json" "$D/predicate.json"
EOF

# --- the explorers around it -----------------------------------------------------------

TAMPER_PORT=$(free_port)
MONITOR_PORT=$(free_port)
DEAD_PORT=$(free_port)
TAMPERED_PORT=$(free_port)
DOWN_PORT=$(free_port)
WATCHED_PORT=$(free_port)
STUBS="$REPO/scripts/interop/explorer_stubs.py"
"$PY" "$STUBS" tamper --port "$TAMPER_PORT" --rekor "$REKOR_URL" --ctlog "$CT_URL" >"$D/tamper.log" 2>&1 &
STUB_PIDS+=($!)
RUST_LOG=warn "$SIGSTACK" explorer --listen "127.0.0.1:$TAMPERED_PORT" \
    --rekor-url "http://127.0.0.1:$TAMPER_PORT/rekor" --ctlog-url "http://127.0.0.1:$TAMPER_PORT/ctlog" \
    --trusted-root "$T/trusted_root.json" >"$D/explorer-tampered.log" 2>&1 &
STUB_PIDS+=($!)
# A real monitor over the stack's tiled logs (Rekor v2, the CT log's static-ct-api), from their
# first entry, watching for the identity sigstore-python signed with; its verifier keys are
# made from the stack's key files and the origins its logs serve.
V2_ORIGIN=$(curl -fsS "$REKOR_URL/api/v2/checkpoint" | head -n 1)
CT_ORIGIN=$(curl -fsS "$CT_URL/checkpoint" | head -n 1)
V2_VKEY=$("$SIGSTACK" keys public "$D/data/keys/rekor-v2.pem" --note-name "$V2_ORIGIN")
CT_VKEY=$("$SIGSTACK" keys public "$D/data/keys/ctlog.pem" --note-name "$CT_ORIGIN" --rfc6962)
printf 'startIndex: 0\nlogs:\n  - url: %s\n    api: rekor-v2\n    keys: ["%s"]\n  - url: %s\n    api: ct\n    keys: ["%s"]\n' \
    "$REKOR_URL" "$V2_VKEY" "$CT_URL" "$CT_VKEY" >"$D/monitor.yaml"
printf 'monitoredValues:\n  certIdentities:\n    - certSubject: %s\n' "${EMAIL//./\\.}" >>"$D/monitor.yaml"
RUST_LOG=warn "$SIGSTACK" monitor --config "$D/monitor.yaml" --database-url "sqlite://$D/monitor.sqlite" \
    --findings "$D/findings.jsonl" --interval 1s --listen "127.0.0.1:$MONITOR_PORT" >"$D/monitor.log" 2>&1 &
STUB_PIDS+=($!)
RUST_LOG=warn "$SIGSTACK" explorer --listen "127.0.0.1:$WATCHED_PORT" --rekor-url "$REKOR_URL" --ctlog-url "$CT_URL" \
    --monitor-url "http://127.0.0.1:$MONITOR_PORT" --trusted-root "$T/trusted_root.json" >"$D/explorer-watched.log" 2>&1 &
STUB_PIDS+=($!)
RUST_LOG=warn "$SIGSTACK" explorer --listen "127.0.0.1:$DOWN_PORT" --rekor-url "http://127.0.0.1:$DEAD_PORT" \
    --ctlog-url "http://127.0.0.1:$DEAD_PORT" --tuf-url "$TUF_URL" --upstream-timeout 2s >"$D/explorer-down.log" 2>&1 &
STUB_PIDS+=($!)
stubs_ready() {
    "$PY" "$FC" wait --url "http://127.0.0.1:$MONITOR_PORT/healthz" --timeout 30 &&
        "$PY" "$FC" wait --url "http://127.0.0.1:$TAMPERED_PORT/healthz" --timeout 30 &&
        "$PY" "$FC" wait --url "http://127.0.0.1:$DOWN_PORT/healthz" --timeout 30 &&
        "$PY" "$FC" wait --url "http://127.0.0.1:$WATCHED_PORT/healthz" --timeout 30
}
require "the tampering proxy, the monitor and three more explorers start" stubs_ready
V2_INDEX=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]["logIndex"])' "$D/py-v2.json")
monitor_found_v2_entry() {
    local i
    for ((i = 0; i < 100; i++)); do
        "$PY" -c 'import json, sys
hits = [f for f in map(json.loads, open(sys.argv[1])) if f["kind"] == "identity_match" and f["log"] == sys.argv[2] and f.get("index") == int(sys.argv[3])]
sys.exit(0 if hits else 1)' "$D/findings.jsonl" "$REKOR_URL" "$V2_INDEX" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
require "the monitor verifies the Rekor v2 log and reports sigstore-python's entry $V2_INDEX as an identity match" monitor_found_v2_entry

# --- the explorer forwards no write ----------------------------------------------------

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "a Rekor v1 entry POSTed through the explorer is refused (403)" \
    test "$(status -X POST -H 'content-type: application/json' -d '{}' "$EXPLORER_URL/proxy/rekor/api/v1/log/entries")" = 403
check "a Rekor v2 entry POSTed through the explorer is refused (403)" \
    test "$(status -X POST -d '{}' "$EXPLORER_URL/proxy/rekor-v2/api/v2/log/entries")" = 403
check "a CT add-chain through the explorer is refused (403)" \
    test "$(status -X POST -d '{}' "$EXPLORER_URL/proxy/ctlog/ct/v1/add-chain")" = 403
check "a path out of the API (..) is refused" \
    test "$(status --path-as-is "$EXPLORER_URL/proxy/tuf/%2e%2e/keys/tuf-root.pem")" = 403
check "PUT and DELETE are not served" \
    bash -c 'for m in PUT DELETE; do [ "$(curl -s -o /dev/null -w "%{http_code}" -X $m "$1")" = 405 ] || exit 1; done' _ "$EXPLORER_URL/proxy/rekor/api/v1/log"
check "the page is served with a content security policy allowing only itself" \
    bash -c 'curl -sI "$1/" | grep -qi "^content-security-policy: default-src .none.; script-src .self."' _ "$EXPLORER_URL"

# --- the browser -----------------------------------------------------------------------

"$PY" - "$D" "$EMAIL" "$ISSUER_URL" "$EXPLORER_URL" "http://127.0.0.1:$TAMPERED_PORT" "http://127.0.0.1:$DOWN_PORT" \
    "http://127.0.0.1:$WATCHED_PORT" >"$D/facts.json" <<'PY'
import base64, hashlib, json, sys, urllib.request
d, email, issuer, explorer, tampered, down, watched = sys.argv[1:]
load = lambda name: json.load(open(f"{d}/{name}"))
entry = lambda b: b["verificationMaterial"]["tlogEntries"][0]
v1 = load("py-v1.json")
body = base64.b64decode(entry(v1)["canonicalizedBody"])
cert = base64.b64decode(v1["verificationMaterial"]["certificate"]["rawBytes"])
pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(
    base64.b64encode(cert).decode()[i:i + 64] for i in range(0, len(base64.b64encode(cert)), 64)) + "\n-----END CERTIFICATE-----"
size = json.load(urllib.request.urlopen(f"{explorer}/proxy/rekor/api/v1/log"))["treeSize"]
# The Rekor v2 bundle with one digit of its timestamp's signed time (the GeneralizedTime after
# the TSTInfo content type) changed, the length unchanged.
v2 = load("py-v2.json")
ts = v2["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
tsr = bytearray(base64.b64decode(ts["signedTimestamp"]))
id_ct_tstinfo = bytes.fromhex("060b2a864886f70d0109100104")
at = tsr.index(b"\x18", tsr.index(id_ct_tstinfo)) + 2 + 13
tsr[at] = ord("1") if tsr[at] == ord("0") else ord("0")
ts["signedTimestamp"] = base64.b64encode(bytes(tsr)).decode()
json.dump(v2, open(f"{d}/py-v2-tampered-timestamp.json", "w"))
print(json.dumps({
    "explorer": explorer, "tampered": tampered, "down": down, "watched": watched,
    "email": email, "issuer": issuer,
    "digest": hashlib.sha256(open(f"{d}/artifact.txt", "rb").read()).hexdigest(), "digest_entries": 2, "email_entries": 4,
    "v1_uuid": hashlib.sha256(b"\0" + body).hexdigest(), "v1_index": int(entry(v1)["logIndex"]), "v1_cert_pem": pem,
    "v1_fingerprint": hashlib.sha256(cert).hexdigest(),
    "v1_size": size, "dsse_index": int(entry(load("py-attest.json"))["logIndex"]),
    "intoto_index": int(entry(load("js-attest.json"))["logIndex"]), "js_index": int(entry(load("js-sign.json"))["logIndex"]),
    "v2_index": int(entry(load("py-v2.json"))["logIndex"]), "ct_min": 5,
    "attest_bundle": f"{d}/py-attest.json", "v2_bundle": f"{d}/py-v2.json",
    "v2_tampered_bundle": f"{d}/py-v2-tampered-timestamp.json",
}))
PY
SHOTS=()
if [[ -n "${EXPLORER_SCREENSHOTS:-}" ]]; then
    mkdir -p "$EXPLORER_SCREENSHOTS"
    SHOTS=(--screenshots "$(realpath "$EXPLORER_SCREENSHOTS")")
fi
"$BROWSER_PY" "$REPO/scripts/interop/explorer_browser.py" --facts "$D/facts.json" --browser "$BROWSER" \
    --driver "$DRIVER" --grow "bash $D/grow.sh >>$D/grow.log 2>&1" "${SHOTS[@]}" >"$D/browser.out" 2>"$D/browser.log" || true
while read -r line; do
    case "$line" in
    ok:*) passed=$((passed + 1)); log "$line" ;;
    FAILED:*) failed=$((failed + 1)); log "$line" ;;
    esac
done <"$D/browser.out"
grep -q '^browser: ' "$D/browser.out" || { failed=$((failed + 1)); log "FAILED: the browser run did not finish"; }

log "done in ${SECONDS}s"
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
summary_printed=1
[[ $failed -eq 0 ]]
