#!/usr/bin/env bash
# End-to-end suite: one `sigstack up` (embedded SQLite, every service, the development OIDC
# issuer, TUF), and real clients, pinned and unmodified, signing and verifying against it the
# way the README tells a new user to.
#
#   bash scripts/interop/e2e.sh
#
# It starts `target/debug/sigstack up` on free loopback ports in a fresh data directory and
# measures how long it takes to be ready, then:
#   - python-tuf: bootstraps from the instance's root.json, refreshes, downloads
#     trusted_root.json and signing_config.v0.2.json, which must equal the exported files;
#   - sigstore-python with the exported trust_config.json: sign + verify through Rekor v1,
#     attest + verify (DSSE), sign + verify through Rekor v2 with the TSA (the default: the
#     highest Rekor version the signing config offers); then the whole flow through TUF only:
#     `--instance URL trust-instance root.json`, sign, verify;
#   - sigstore-js: the CLI attests (intoto, with the TSA) and verifies through TUF only; the
#     library signs a blob, verified offline against the exported trusted_root.json;
#   - negative checks for each client: another identity, another issuer, a tampered artifact, a
#     tampered bundle;
#   - lifecycle: a second `up` on the same data directory is refused; Ctrl-C (SIGINT) stops the
#     stack cleanly; a restart reuses the keys and the logs keep growing; `sigstack rotate all`
#     (the CA, the TSA, and each log with a new shard: Rekor v1 a new tree ID, Rekor v2 and the
#     CT log a new log at its own path) becomes a new TUF targets version listing the old keys
#     with their windows closed and signing_config pointing at the new shards; the frozen
#     shards keep serving, read-only; old and new bundles verify with both clients, offline
#     and through TUF only; then two temporal CT shards open side by side (`rotate ctlog
#     --ctlog-window ... --ctlog-keep-accepting`), Fulcio logging each certificate in the one
#     whose window holds its notAfter, bundles from both verifying through TUF only (this
#     waits up to TEMPORAL_LEAD=30 seconds for certificates to expire past the boundary; not
#     with encrypted keys).
#
# Where the keys are (E2E_KEYS): `files` (default: plaintext development keys in the data
# directory), `encrypted` (every key file encrypted under --key-password-file), `pkcs11` (every
# key of the stack in a SoftHSM2 token made for the run, `up --keys-pkcs11`; the rotation
# renames the old keys in the token). The closing line names the mode when it is not `files`.
#
# Tools are pinned and cached in .cache/interop/ (lib.sh's sigstore-python venv, shared with
# fulcio.sh, and the sigstore-js install of rekor_js.sh). Ends with one line on stdout,
# `e2e-interop: N passed, M failed`. KEEP_INTEROP_DIR=1 keeps the work directory.

# The `bash -c '...' _ ARGS` checks below expand their own $1.. on purpose.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

JS_SRC="$REPO/scripts/interop/rekor_js"

E2E_KEYS=${E2E_KEYS:-files}
case "$E2E_KEYS" in
files) SUITE_NAME=e2e-interop ;;
encrypted | pkcs11) SUITE_NAME="e2e-$E2E_KEYS-interop" ;;
*)
    echo "E2E_KEYS=$E2E_KEYS: files, encrypted or pkcs11" >&2
    exit 2
    ;;
esac
LOG_NAME="e2e interop ($E2E_KEYS keys)"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"
UP_PID=""
trap 'stop_pid "$UP_PID"; cleanup' EXIT

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack
ensure_sigstore_python
ensure_node_packages "$JS_SRC" node-rekor-js sigstore-js
export SIGSTORE_JS_DIR="$NODE_DIR"
JS="$REPO/scripts/interop/rekor_js/rekor_js.mjs"
SIGSTORE_JS_CLI="$NODE_DIR/node_modules/@sigstore/cli/bin/run"
tools_ready "sigstore-python, node $(node --version) with sigstore-js"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-e2e.XXXXXX")
D=$WORK
DATA="$D/data"

# --- the stack -------------------------------------------------------------------------

up_listen_on_free_ports

KEY_FLAGS=()
case "$E2E_KEYS" in
encrypted)
    printf 'an e2e key password\n' >"$D/key-password"
    KEY_FLAGS=(--key-password-file "$D/key-password")
    ;;
pkcs11)
    MODULE=$(bash "$REPO/scripts/softhsm.sh") || { log "SoftHSM2 is not installed and could not be (scripts/softhsm.sh)"; exit 1; }
    export SOFTHSM2_CONF="$D/softhsm2.conf"
    mkdir -p "$D/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$D/tokens" >"$SOFTHSM2_CONF"
    printf '1234\n' >"$D/pin"
    softhsm2-util --init-token --free --label sigstack-e2e --pin 1234 --so-pin 5678 >/dev/null
    KEY_FLAGS=(--keys-pkcs11 "pkcs11:token=sigstack-e2e?module-path=$MODULE&pin-source=file:$D/pin")
    ;;
esac
# `sigstack rotate` retires keys where they are: files move to keys/retired/ (with the chains
# made for them), keys in the token are renamed there (only the chains move).
ROTATE_FLAGS=()
RETIRED_FILES=7
if [[ "$E2E_KEYS" == pkcs11 ]]; then
    ROTATE_FLAGS=("${KEY_FLAGS[@]}")
    RETIRED_FILES=2
fi
start_up() {
    RUST_LOG=info "$SIGSTACK" up --data-dir "$DATA" "${KEY_FLAGS[@]}" >>"$D/up.log" 2>&1 &
    UP_PID=$!
}
wait_ready() {
    local u
    for u in "$CT_URL/ct/v1/get-sth" "$FULCIO_URL/healthz" "$REKOR_URL/healthz" "$TSA_URL/healthz" \
        "$TUF_URL/timestamp.json" "$ISSUER_URL/.well-known/openid-configuration"; do
        "$PY" "$FC" wait --url "$u" --timeout 120 || return 1
    done
}
t0=$(date +%s.%N)
start_up
require "sigstack up starts every service" wait_ready
READY=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
log "first start ready after ${READY}s (keys, CA, TUF root, trust files created)"
T="$DATA/trust"
require "up exported the trust files" test -s "$T/trust_config.json" -a -s "$T/trusted_root.json" -a -s "$T/root.json"

ready_everywhere() {
    "$PY" - "$CT_URL" "$FULCIO_URL" "$REKOR_URL" "$TSA_URL" "$TUF_URL" <<'PY'
import json, sys, urllib.request
for base in sys.argv[1:]:
    with urllib.request.urlopen(base + "/readyz", timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "ready", (base, body)
PY
}
check "every service answers /readyz with ready (database, sequencers, keys, TUF metadata)" ready_everywhere

metrics_everywhere() {
    "$PY" - "$CT_URL" ctlog "$FULCIO_URL" fulcio "$REKOR_URL" rekor "$TSA_URL" tsa \
        "$TUF_URL" tuf <<'PY'
import sys, urllib.request
args = sys.argv[1:]
# Upstream's names where upstream has the service (sigstack/tests/metrics.rs checks the rest).
names = {
    "rekor": ["rekor_build_info", "rekor_new_entries", "rekor_qps_by_api", "rekor_latency_by_api",
              "rekor_api_latency", "tlog_tree_size"],
    "fulcio": ["fulcio_build_info", "fulcio_new_certs", "fulcio_api_latency", "http_requests_total"],
    "tsa": ["timestamp_authority_build_info", "timestamp_authority_http_requests_total",
            "timestamp_authority_latency_by_api", "timestamp_authority_api_latency"],
    "ctlog": ["ctlog_build_info", "ctlog_http_requests_total", "tlog_tree_size"],
    "tuf": ["tuf_build_info", "tuf_http_requests_total"],
}
# The readiness probes above, counted under their route.
readyz = {
    "rekor": 'rekor_qps_by_api{code="200",method="GET",path="/readyz"}',
    "fulcio": 'http_requests_total{code="200",method="get"}',
    "tsa": 'timestamp_authority_http_requests_total{code="200",method="GET",path="/readyz"}',
    "ctlog": 'ctlog_http_requests_total{code="200",method="GET",path="/readyz"}',
    "tuf": 'tuf_http_requests_total{code="200",method="GET",path="/readyz"}',
}
for base, service in zip(args[::2], args[1::2]):
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    for name in names[service] + ["process_cpu_seconds_total", "process_open_fds"]:
        assert f"# TYPE {name} " in text, (base, name)
    assert readyz[service] in text, (base, readyz[service])
PY
}
check "every service serves /metrics with build_info, upstream's names and the process's" metrics_everywhere

check "a second up on the same data directory is refused" \
    bash -c '! "$1" up --data-dir "$2" >"$3" 2>&1 && grep -q "already running" "$3"' _ "$SIGSTACK" "$DATA" "$D/second-up.log"

EMAIL=alice@sigstack.test
token() { "$SIGSTACK" token "${1:-$EMAIL}"; }
require "sigstack token mints a development token" token

printf 'e2e artifact %s\n' "$(date +%s%N)" >"$D/artifact.txt"
printf 'something else\n' >"$D/other.txt"
printf '%s\n' '{"buildDefinition": {"buildType": "https://sigstack.test/build", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://sigstack.test/builder"}}}' >"$D/predicate.json"

# --- python-tuf ------------------------------------------------------------------------

check "python-tuf bootstraps from root.json, refreshes and downloads both targets (equal to the exported files)" \
    "$PY" "$REPO/scripts/interop/tuf_client.py" fetch --url "$TUF_URL" --workdir "$D/tuf-client" \
    --bootstrap "$T/root.json" --target "trusted_root.json=$T/trusted_root.json" \
    --target "signing_config.v0.2.json=$T/signing_config.json"

# --- sigstore-python -------------------------------------------------------------------

SP="$VENV/bin/sigstore"
sp() { "$SP" "$@" >>"$D/sigstore-python.log" 2>&1; }
TC="$T/trust_config.json"
pverify() { # bundle artifact [identity] [issuer] [extra global args...]
    local b=$1 a=$2 id=${3:-$EMAIL} iss=${4:-$ISSUER_URL}
    shift 4 2>/dev/null || shift $#
    sp "${@:---trust-config=$TC}" verify identity --offline --bundle "$b" --cert-identity "$id" --cert-oidc-issuer "$iss" "$a"
}
refused() { ! "$@"; }

check "sigstore-python signs through Rekor v1 (--rekor-version 1)" \
    sp --trust-config "$TC" sign --rekor-version 1 --identity-token "$(token)" --bundle "$D/py-v1.json" "$D/artifact.txt"
check "sigstore-python verifies the Rekor v1 bundle" pverify "$D/py-v1.json" "$D/artifact.txt"
check "sigstore-python attests (DSSE) through Rekor v1" \
    sp --trust-config "$TC" attest --rekor-version 1 --predicate "$D/predicate.json" \
    --predicate-type https://slsa.dev/provenance/v1 --identity-token "$(token)" --bundle "$D/py-attest.json" "$D/artifact.txt"
check "sigstore-python verifies the attestation" pverify "$D/py-attest.json" "$D/artifact.txt"
check "sigstore-python signs through Rekor v2 + TSA (the default)" \
    sp --trust-config "$TC" sign --identity-token "$(token)" --bundle "$D/py-v2.json" "$D/artifact.txt"
check "the default bundle is a Rekor v2 entry with an RFC 3161 timestamp" \
    "$PY" -c 'import json,sys; b=json.load(open(sys.argv[1])); e=b["verificationMaterial"]; assert e["tlogEntries"][0]["kindVersion"]["version"]=="0.0.2"; assert e["timestampVerificationData"]["rfc3161Timestamps"]' "$D/py-v2.json"
check "sigstore-python verifies the Rekor v2 bundle" pverify "$D/py-v2.json" "$D/artifact.txt"
check "sigstore-python: another identity is refused" refused pverify "$D/py-v1.json" "$D/artifact.txt" bob@sigstack.test
check "sigstore-python: another issuer is refused" refused pverify "$D/py-v2.json" "$D/artifact.txt" "$EMAIL" https://issuer.invalid
check "sigstore-python: a tampered artifact is refused" refused pverify "$D/py-v2.json" "$D/other.txt"
"$PY" "$REPO/scripts/interop/rekor_client.py" tamper --bundle "$D/py-v1.json" --out-prefix "$D/py-v1-tampered" >/dev/null
check "sigstore-python: a tampered bundle (signature) is refused" refused pverify "$D/py-v1-tampered.signature.json" "$D/artifact.txt"
check "sigstore-python: a tampered bundle (proof root) is refused" refused pverify "$D/py-v1-tampered.proof-root.json" "$D/artifact.txt"

# Through TUF only: trust-instance once, then --instance for everything.
export XDG_DATA_HOME="$D/xdg-data" XDG_CACHE_HOME="$D/xdg-cache"
check "sigstore-python trust-instance from root.json" sp --instance "$TUF_URL" trust-instance "$T/root.json"
check "sigstore-python signs through TUF only (--instance)" \
    sp --instance "$TUF_URL" sign --identity-token "$(token)" --bundle "$D/py-tuf.json" "$D/artifact.txt"
check "sigstore-python verifies through TUF only (--instance)" \
    sp --instance "$TUF_URL" verify identity --bundle "$D/py-tuf.json" --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$D/artifact.txt"
check "sigstore-python through TUF: another identity is refused" \
    refused sp --instance "$TUF_URL" verify identity --bundle "$D/py-tuf.json" --cert-identity bob@sigstack.test --cert-oidc-issuer "$ISSUER_URL" "$D/artifact.txt"
unset XDG_DATA_HOME XDG_CACHE_HOME

# --- sigstore-js -----------------------------------------------------------------------

printf '%s\n' "{\"_type\": \"https://in-toto.io/Statement/v1\", \"subject\": [{\"name\": \"artifact.txt\", \"digest\": {\"sha256\": \"$(sha256sum "$D/artifact.txt" | cut -d' ' -f1)\"}}], \"predicateType\": \"https://slsa.dev/provenance/v1\", \"predicate\": {}}" >"$D/statement.json"
jsv() { # bundle [identity] [issuer]
    node "$SIGSTORE_JS_CLI" verify --tuf-mirror-url "$TUF_URL" --tuf-root-path "$T/root.json" --tuf-cache-path "$D/js-tuf" \
        --certificate-issuer "${3:-$ISSUER_URL}" --certificate-identity-email "${2:-$EMAIL}" "$1" >>"$D/sigstore-js.log" 2>&1
}
check "sigstore-js CLI attests (intoto, with the TSA)" \
    env CI=true SIGSTORE_ID_TOKEN="$(token)" node "$SIGSTORE_JS_CLI" attest --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" \
    --tsa-server-url "$TSA_URL" -o "$D/js-attest.json" "$D/statement.json"
check "sigstore-js CLI verifies through TUF only" jsv "$D/js-attest.json"
check "sigstore-js CLI: another identity is refused" refused jsv "$D/js-attest.json" bob@sigstack.test
check "sigstore-js CLI: another issuer is refused" refused jsv "$D/js-attest.json" "$EMAIL" https://issuer.invalid
"$PY" "$REPO/scripts/interop/rekor_client.py" tamper --bundle "$D/js-attest.json" --out-prefix "$D/js-tampered" >/dev/null
check "sigstore-js CLI: a tampered bundle is refused" refused jsv "$D/js-tampered.signature.json"
token >"$D/js-token.txt"
check "sigstore-js library signs a blob (Fulcio + Rekor v1)" \
    node "$JS" sign --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --token "$D/js-token.txt" \
    --artifact "$D/artifact.txt" --out "$D/js-sign.json"
check "sigstore-js library's bundle verifies offline against trusted_root.json" \
    node "$JS" verify --bundle "$D/js-sign.json" --trusted-root "$T/trusted_root.json" --artifact "$D/artifact.txt" \
    --email "$EMAIL" --issuer "$ISSUER_URL"
check "sigstore-js library: a tampered artifact is refused" \
    refused node "$JS" verify --bundle "$D/js-sign.json" --trusted-root "$T/trusted_root.json" --artifact "$D/other.txt" \
    --email "$EMAIL" --issuer "$ISSUER_URL"

# --- lifecycle -------------------------------------------------------------------------

cp "$T/trusted_root.json" "$D/trusted_root.before"
size_before=$("$PY" -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["treeSize"])' "$REKOR_URL/api/v1/log")
kill -INT "$UP_PID"
check "Ctrl-C stops the stack cleanly (exit 0, 'stopped')" \
    bash -c 'wait_pid() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }; wait_pid "$1" && grep -q "^stopped" "$2"' _ "$UP_PID" "$D/up.log"
wait "$UP_PID" 2>/dev/null && up_rc=0 || up_rc=$?
check "up exited with status 0 after Ctrl-C" test "$up_rc" -eq 0
UP_PID=""
t0=$(date +%s.%N)
start_up
require "sigstack up restarts on the same data directory" wait_ready
RESTART=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
check "after the restart, the keys are the same and the log keeps growing" \
    bash -c 'cmp -s "$1" "$2/trust/trusted_root.json" && "$3" --trust-config "$2/trust/trust_config.json" sign --rekor-version 1 --identity-token "$("$4" token "$5")" --bundle "$6" "$7" >/dev/null 2>&1' \
    _ "$D/trusted_root.before" "$DATA" "$SP" "$SIGSTACK" "$EMAIL" "$D/py-after.json" "$D/other.txt"
check "the restarted log continues from its size before the restart" \
    "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]; assert int(e["logIndex"]) >= int(sys.argv[2]), e["logIndex"]' "$D/py-after.json" "$size_before"

# The keys are where the mode says, and nowhere else.
case "$E2E_KEYS" in
files) check "the keys are plaintext development files" grep -q "BEGIN PRIVATE KEY" "$DATA/keys/ctlog.pem" ;;
encrypted)
    check "every key file is encrypted" bash -c 'for f in "$1"/keys/{fulcio-ca,ctlog,rekor-v1,rekor-v2,tsa-key,tuf-root,tuf-online,witness}.pem; do grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$f" || { echo "$f"; exit 1; }; done' _ "$DATA"
    ;;
pkcs11)
    check "no key of the stack is a file; the banner names the token" \
        bash -c '! ls "$1"/keys/{fulcio-ca,ctlog,rekor-v1,rekor-v2,tsa-key,tuf-root,tuf-online,witness}.pem 2>/dev/null && grep -q "in the PKCS#11 token" "$2"' _ "$DATA" "$D/up.log"
    ;;
esac

# Every key rotated (`sigstack rotate --data-dir D all`): the CA's and the TSA's, and each
# log's, whose active shard freezes with its key while a new shard takes the new one (a log's
# key being its identity): Rekor v1 a new tree ID, Rekor v2 and the CT log a new log at
# /v2-shards/2 and /shards/2. The restarted stack must publish a new targets version whose
# trusted_root.json keeps each old key with its window closed beside the new one, and whose
# signing_config names the new v2 log; the frozen shards keep serving, read-only; bundles made
# before the rotation must still verify, offline and through TUF only, with sigstore-python and
# sigstore-js, and both must sign and verify with the new keys. In a token, the old keys are
# renamed there and new ones made.
kill -INT "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=""
check "sigstack rotate refuses a CT shard window that ends before it starts, moving nothing" \
    bash -c '! "$1" rotate --data-dir "$2" ctlog --ctlog-window 2027-01-01T00:00:00Z/2026-01-01T00:00:00Z >"$3" 2>&1 && grep -q "end after it starts" "$3" && ! test -e "$2/keys/retired"' \
    _ "$SIGSTACK" "$DATA" "$D/rotate-bad.log"
check "sigstack rotate retires every key (kept: keys/retired/ or renamed in the token), freezing the shard of each log" \
    bash -c '"$1" rotate --data-dir "$2" "${@:5}" all >"$3" 2>&1 && test "$(ls "$2/keys/retired" | wc -l)" -eq "$4" &&
        grep -q "froze Rekor v1 shard" "$3" && grep -q "froze Rekor v2 log 1" "$3" && grep -q "froze CT log shard 1" "$3"' \
    _ "$SIGSTACK" "$DATA" "$D/rotate.log" "$RETIRED_FILES" "${ROTATE_FLAGS[@]}"
start_up
require "sigstack up restarts with new keys" wait_ready
check "rotate is refused while up runs" \
    bash -c '! "$1" rotate --data-dir "$2" tsa >"$3" 2>&1 && grep -q "already running" "$3"' _ "$SIGSTACK" "$DATA" "$D/rotate-running.log"
check "python-tuf refreshes to a trusted_root.json listing old (closed) and new of every key" \
    bash -c '"$1" "$2" fetch --url "$3" --workdir "$4" --target "trusted_root.json=$5/trusted_root.json" >/dev/null &&
        "$1" - "$5/trusted_root.json" <<PY
import json, sys
root = json.load(open(sys.argv[1]))
def windows(items, key):
    return [bool(i[key]["validFor"].get("end")) if key else bool(i["validFor"].get("end")) for i in items]
for name, items, key in [("CA", root["certificateAuthorities"], None), ("CT log", root["ctlogs"], "publicKey"),
                         ("TSA", root["timestampAuthorities"], None), ("Rekor", root["tlogs"], "publicKey")]:
    closed = windows(items, key)
    want = {"CA": (2, 1), "TSA": (2, 1), "CT log": (2, 1), "Rekor": (4, 2)}[name]
    assert (len(items), closed.count(True)) == want, (name, len(items), closed)
# The new CT log and Rekor v2 shards are published at their own paths.
current = lambda items: [i["baseUrl"] for i in items if not i["publicKey"]["validFor"].get("end")]
assert [u for u in current(root["ctlogs"]) if u.endswith("/shards/2")], root["ctlogs"]
assert [u for u in current(root["tlogs"]) if u.endswith("/v2-shards/2")], root["tlogs"]
PY' \
    _ "$PY" "$REPO/scripts/interop/tuf_client.py" "$TUF_URL" "$D/tuf-client" "$T"
check "signing_config points Rekor v2 writers at the new v2 log only" \
    "$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); v2=[u["url"] for u in c["rekorTlogUrls"] if u["majorApiVersion"]==2]; assert v2==[sys.argv[2]+"/v2-shards/2"], v2' "$T/signing_config.json" "$REKOR_URL"
frozen_logs_serve() {
    "$PY" - "$REKOR_URL" "$CT_URL" <<'PY'
import json, sys, urllib.error, urllib.request
rekor, ct = sys.argv[1], sys.argv[2]
def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()
# Frozen: Rekor v2 log 1 and CT shard 1 still serve their checkpoints, tiles and proofs.
note = get(rekor + "/api/v2/checkpoint").decode()
assert int(note.splitlines()[1]) >= 2, note
assert get(rekor + "/api/v2/tile/0/000.p/1")
sth = json.loads(get(ct + "/ct/v1/get-sth"))
assert sth["tree_size"] >= 1, sth
assert json.loads(get(ct + "/ct/v1/get-entries?start=0&end=0"))["entries"]
# Active: the new shards, which have taken entries since.
assert json.loads(get(ct + "/shards/2/ct/v1/get-sth"))["tree_size"] >= 1
assert int(get(rekor + "/v2-shards/2/api/v2/checkpoint").decode().splitlines()[1]) >= 1
# A write to a frozen log is refused (403), naming the frozen state.
for url, body in [(rekor + "/api/v2/log/entries", b"{}"), (ct + "/ct/v1/add-chain", b'{"chain": []}')]:
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}), timeout=10)
        raise SystemExit(f"{url} accepted a write")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"frozen" in e.read(), (url, e.code)
PY
}
check "after the rotation, sigstore-python signs (the new Rekor v2 log + the new TSA, new CA, new CT shard) and verifies" \
    bash -c '"$1" --trust-config "$2" sign --identity-token "$("$3" token "$4")" --bundle "$5" "$6" >/dev/null 2>&1 &&
        "$1" --trust-config "$2" verify identity --offline --bundle "$5" --cert-identity "$4" --cert-oidc-issuer "$7" "$6" >/dev/null 2>&1' \
    _ "$SP" "$TC" "$SIGSTACK" "$EMAIL" "$D/py-rotated.json" "$D/other.txt" "$ISSUER_URL"
check "after the rotation, sigstore-python signs through Rekor v1 (the new shard and key, the new CA) and verifies" \
    bash -c '"$1" --trust-config "$2" sign --rekor-version 1 --identity-token "$("$3" token "$4")" --bundle "$5" "$6" >/dev/null 2>&1 &&
        "$1" --trust-config "$2" verify identity --offline --bundle "$5" --cert-identity "$4" --cert-oidc-issuer "$7" "$6" >/dev/null 2>&1' \
    _ "$SP" "$TC" "$SIGSTACK" "$EMAIL" "$D/py-rotated-v1.json" "$D/other.txt" "$ISSUER_URL"
for bundle in py-v1 py-attest py-v2; do
    check "sigstore-python verifies $bundle.json, made before the rotation (the old CA, CT, TSA and Rekor keys)" \
        pverify "$D/$bundle.json" "$D/artifact.txt"
done
check "sigstore-python verifies a bundle made before the rotation through TUF only (--instance)" \
    env XDG_DATA_HOME="$D/xdg-data" XDG_CACHE_HOME="$D/xdg-cache" "$SP" --instance "$TUF_URL" verify identity --bundle "$D/py-tuf.json" --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$D/artifact.txt"
in_new_v2_log() { # bundle: a Rekor v2 entry whose checkpoint names the new v2 log's origin
    "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["verificationMaterial"]["tlogEntries"][0]; assert e["kindVersion"]["version"]=="0.0.2", e["kindVersion"]; origin=e["inclusionProof"]["checkpoint"]["envelope"].splitlines()[0]; assert origin.endswith("/v2-shards/2"), origin' "$1"
}
check "after the rotation, sigstore-python signs and verifies through TUF only (--instance), into the new v2 log" \
    env XDG_DATA_HOME="$D/xdg-data" XDG_CACHE_HOME="$D/xdg-cache" bash -c '"$1" --instance "$2" sign --identity-token "$("$3" token "$4")" --bundle "$5" "$6" >/dev/null 2>&1 &&
        "$1" --instance "$2" verify identity --bundle "$5" --cert-identity "$4" --cert-oidc-issuer "$7" "$6" >/dev/null 2>&1' \
    _ "$SP" "$TUF_URL" "$SIGSTACK" "$EMAIL" "$D/py-tuf-rotated.json" "$D/other.txt" "$ISSUER_URL"
check "the bundle signed through TUF after the rotation is in the new v2 log" in_new_v2_log "$D/py-tuf-rotated.json"
check "sigstore-js verifies its attestation made before the rotation, through TUF only" jsv "$D/js-attest.json"
check "after the rotation, the sigstore-js CLI attests and verifies through TUF only" \
    bash -c 'env CI=true SIGSTORE_ID_TOKEN="$("$1" token "$2")" node "$3" attest --fulcio-url "$4" --rekor-url "$5" --tsa-server-url "$6" -o "$7" "$8" >>"$9" 2>&1' \
    _ "$SIGSTACK" "$EMAIL" "$SIGSTORE_JS_CLI" "$FULCIO_URL" "$REKOR_URL" "$TSA_URL" "$D/js-rotated.json" "$D/statement.json" "$D/sigstore-js.log"
check "the sigstore-js attestation made after the rotation verifies through TUF only" jsv "$D/js-rotated.json"
check "the frozen Rekor v2 log and CT shard keep serving checkpoints, tiles and entries, and refuse writes (403); the new ones grow" frozen_logs_serve

# Two temporal CT shards open side by side, as public CT logs run them (issue 18 §3): shard 3
# takes the certificates expiring before BOUNDARY and shard 4, opened ahead of time with
# `rotate ctlog --ctlog-keep-accepting`, those from BOUNDARY on. Certificates live ten minutes,
# so with BOUNDARY ten minutes plus TEMPORAL_LEAD seconds from now, the ones issued in the next
# TEMPORAL_LEAD seconds go to shard 3 and the later ones to shard 4: the suite signs once
# before and once after that instant, with each client, and checks the SCT's log in each
# certificate (the lead must cover two starts, three rotations and the first signatures).
# trusted_root.json lists both with open windows
# (sigstore-js looks the SCT's log up by log ID with a window holding the SCT's time), and
# every bundle verifies through TUF. Not with encrypted keys: the shard choice does not depend
# on where keys are, and files and PKCS#11 (the accepting shard signing with its key renamed in
# the token) cover the rotation's key handling, while this phase's wait is the suites' longest.
if [[ "$E2E_KEYS" != encrypted ]]; then
kill -INT "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=""
# Files and PKCS#11 keys reached the first signature 9 s after the rotation here, loaded; 30 s
# leaves room for a machine three times slower.
TEMPORAL_LEAD=${TEMPORAL_LEAD:-30}
read -r PAST BOUNDARY FUTURE SWITCH < <(python3 -c '
import datetime, sys, time
now = int(time.time())
boundary = now + 600 + int(sys.argv[1])
at = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(at(now - 86400), at(boundary), at(now + 365 * 86400), boundary - 600)' "$TEMPORAL_LEAD")
CT_LAYOUT="$DATA/ctlog-shards.json"
cp "$CT_LAYOUT" "$D/ctlog-shards.before"
check "rotate refuses to keep a CT shard without a window accepting beside a new one, changing nothing" \
    bash -c '! "$1" rotate --data-dir "$2" "${@:6}" ctlog --ctlog-window "$3" --ctlog-keep-accepting >"$4" 2>&1 &&
        grep -q "has no expiry window" "$4" && cmp -s "$5" "$2/ctlog-shards.json"' \
    _ "$SIGSTACK" "$DATA" "$BOUNDARY/$FUTURE" "$D/rotate-keep-unbounded.log" "$D/ctlog-shards.before" "${ROTATE_FLAGS[@]}"
require "rotate ctlog into a temporal shard (3) for notAfter before the boundary, freezing shard 2" \
    bash -c '"$1" rotate --data-dir "$2" "${@:5}" ctlog --ctlog-window "$3" >"$4" 2>&1 && grep -q "froze CT log shard 2" "$4"' \
    _ "$SIGSTACK" "$DATA" "$PAST/$BOUNDARY" "$D/rotate-temporal-3.log" "${ROTATE_FLAGS[@]}"
# The next start makes shard 3's key, which the next rotation retires.
start_up
require "sigstack up starts with temporal CT shard 3" wait_ready
kill -INT "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=""
cp "$CT_LAYOUT" "$D/ctlog-shards.before"
check "rotate refuses a next CT shard whose window overlaps the one kept accepting, changing nothing" \
    bash -c '! "$1" rotate --data-dir "$2" "${@:6}" ctlog --ctlog-window "$3" --ctlog-keep-accepting >"$4" 2>&1 &&
        grep -q "overlap" "$4" && cmp -s "$5" "$2/ctlog-shards.json"' \
    _ "$SIGSTACK" "$DATA" "$PAST/$FUTURE" "$D/rotate-overlap.log" "$D/ctlog-shards.before" "${ROTATE_FLAGS[@]}"
require "rotate ctlog --ctlog-keep-accepting opens shard 4 for notAfter from the boundary, shard 3 still accepting" \
    bash -c '"$1" rotate --data-dir "$2" "${@:5}" ctlog --ctlog-window "$3" --ctlog-keep-accepting >"$4" 2>&1 &&
        grep -q "CT log shard 3 keeps accepting" "$4" && grep -q "\"accepting\": true" "$2/ctlog-shards.json"' \
    _ "$SIGSTACK" "$DATA" "$BOUNDARY/$FUTURE" "$D/rotate-temporal-4.log" "${ROTATE_FLAGS[@]}"
start_up
require "sigstack up starts with two temporal CT shards open" wait_ready
check "trusted_root.json (through python-tuf) lists CT shards 3 and 4 with open windows, 1 and 2 closed" \
    bash -c '"$1" "$2" fetch --url "$3" --workdir "$4" --target "trusted_root.json=$5/trusted_root.json" >/dev/null &&
        "$1" - "$5/trusted_root.json" "$6" <<PY
import json, sys
root = json.load(open(sys.argv[1]))
shard = lambda url: url.rsplit("/shards/", 1)[1] if "/shards/" in url else "1"
closed = {shard(c["baseUrl"]): bool(c["publicKey"]["validFor"].get("end")) for c in root["ctlogs"]}
assert closed == {"1": True, "2": True, "3": False, "4": False}, root["ctlogs"]
PY' \
    _ "$PY" "$REPO/scripts/interop/tuf_client.py" "$TUF_URL" "$D/tuf-client" "$T"
sct_from_shard() { # bundle N: the certificate's SCT is from CT shard N (its log ID in trusted_root.json)
    "$PY" - "$1" "$T/trusted_root.json" "/shards/$2" <<'PY'
import base64, json, sys
from cryptography import x509
bundle, root, shard = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
material = bundle["verificationMaterial"]
raw = (material.get("certificate") or material["x509CertificateChain"]["certificates"][0])["rawBytes"]
cert = x509.load_der_x509_certificate(base64.b64decode(raw))
scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
logs = {base64.b64encode(s.log_id).decode() for s in scts}
want = {c["logId"]["keyId"] for c in root["ctlogs"] if c["baseUrl"].endswith(shard)}
assert len(want) == 1 and logs == want, (logs, want, cert.not_valid_after_utc)
PY
}
tuf_py() { env XDG_DATA_HOME="$D/xdg-data" XDG_CACHE_HOME="$D/xdg-cache" "$SP" --instance "$TUF_URL" "$@" >>"$D/sigstore-python.log" 2>&1; }
py_signs_into() { # bundle shard
    tuf_py sign --identity-token "$(token)" --bundle "$1" "$D/artifact.txt" && sct_from_shard "$1" "$2"
}
js_attests_into() { # bundle shard
    env CI=true SIGSTORE_ID_TOKEN="$(token)" node "$SIGSTORE_JS_CLI" attest --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" \
        --tsa-server-url "$TSA_URL" -o "$1" "$D/statement.json" >>"$D/sigstore-js.log" 2>&1 && sct_from_shard "$1" "$2"
}
for shard in 3 4; do
    if [[ $shard == 4 ]]; then
        # Until certificates issued now expire after the boundary (shard 3's verifications
        # above spent part of the wait).
        wait_s=$(python3 -c "import time; print(max(0, $SWITCH + 2 - time.time()))")
        log "waiting ${wait_s%.*}s for certificates to expire after the shards' boundary"
        sleep "$wait_s"
    fi
    check "sigstore-python signs through TUF only, its certificate logged in CT shard $shard" \
        py_signs_into "$D/py-shard$shard.json" "$shard"
    check "the sigstore-js CLI attests, its certificate logged in CT shard $shard" \
        js_attests_into "$D/js-shard$shard.json" "$shard"
    check "sigstore-python verifies the bundle from CT shard $shard through TUF only" \
        tuf_py verify identity --bundle "$D/py-shard$shard.json" --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$D/artifact.txt"
    check "sigstore-js verifies the attestation from CT shard $shard through TUF only" jsv "$D/js-shard$shard.json"
done
temporal_shards_serve() {
    "$PY" - "$CT_URL" <<'PY'
import json, sys, urllib.error, urllib.request
ct = sys.argv[1]
def sth(shard):
    with urllib.request.urlopen(f"{ct}/shards/{shard}/ct/v1/get-sth", timeout=10) as r:
        return json.load(r)["tree_size"]
assert sth(3) >= 2 and sth(4) >= 2, (sth(3), sth(4))
try:
    urllib.request.urlopen(urllib.request.Request(ct + "/shards/2/ct/v1/add-chain", data=b'{"chain": []}'), timeout=10)
    raise SystemExit("frozen shard 2 accepted a write")
except urllib.error.HTTPError as e:
    body = e.read()
    assert e.code == 403 and b"/shards/3" in body and b"/shards/4" in body, (e.code, body)
PY
}
check "CT shard 2 is frozen (403 naming shards 3 and 4), shards 3 and 4 hold what they took" temporal_shards_serve
fi

if [[ $failed -gt 0 ]]; then
    for f in sigstore-python.log sigstore-js.log; do
        [[ -s "$D/$f" ]] && { log "--- $f"; tail -n 40 "$D/$f" >&2; }
    done
fi
log "ready after ${READY}s (first start), ${RESTART}s (restart); done in ${SECONDS}s"
summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
