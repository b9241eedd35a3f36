#!/usr/bin/env bash
# The lab's faults where they reach a client: sigstore-python signs through Rekor v2 via a
# `sigstack lab` (docs/lab.md) and verifies offline. Through a lab without faults, signing and
# verifying succeed; through a lab whose plan serves wrong proofs (the inclusion proof in the
# answer to the new entry altered), sigstore-python does not end with a bundle that verifies.
#
# The stack: the OIDC issuer, CT log, Fulcio, Rekor and TSA of scripts/interop/lib.sh (SQLite);
# trust configurations written by rekor_client.py for the real Rekor, with the signing
# configuration's Rekor v2 URL pointed at each lab. Ends with one line on stdout,
# `lab-client: N passed, M failed`. KEEP_INTEROP_DIR=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

SUITE_NAME=lab-client
LOG_NAME="lab client"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

LAB_PID=""
trap 'rc=$?; stop_pid "$LAB_PID"; (exit $rc); cleanup' EXIT

SECONDS=0
build_sigstack
ensure_sigstore_python
tools_ready "$("$PY" -c 'import sigstore; print("sigstore-python", sigstore.__version__)')"
RC="$REPO/scripts/interop/rekor_client.py"
SIGSTORE="$VENV/bin/sigstore"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-lab-client.XXXXXX")
D=$WORK
"$SIGSTACK" keys generate "$D/rekor-v2.pem" --algorithm ed25519 >/dev/null 2>&1
start_fulcio_stack "interop.sigstack.test/lab-ctlog"
start_rekor
start_tsa
require "trust configs for this instance" "$PY" "$RC" trust --dir "$D" --ct-key "$D/ct.pem" \
    --ct-url "$CT_URL" --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL" --tsa-url "$TSA_URL"

EMAIL=interop@sigstack.test
token() { "$PY" "$RC" token --dir "$D" --issuer-url "$ISSUER_URL"; }
sig() { "$SIGSTORE" "$@" >>"$D/sigstore-cli.log" 2>&1; }
refused() { ! "$@"; }
printf 'signed through the lab %s\n' "$(date +%s%N)" >"$D/artifact.txt"

# Starts a lab with plan $1 (YAML) and writes $D/trust-<name>.json, trust-v2.json signing
# through it; sets LAB_URL and LAB_PID.
lab() { # name plan
    local port
    port=$(free_port)
    LAB_URL="http://127.0.0.1:$port"
    printf '%s\n' "$2" >"$D/plan-$1.yaml"
    RUST_LOG=info "$SIGSTACK" lab --listen "127.0.0.1:$port" --upstream "$REKOR_URL" \
        --plan "$D/plan-$1.yaml" --key "$D/rekor-v2.pem" >>"$D/lab.log" 2>&1 &
    LAB_PID=$!
    require "$1: the lab starts ($LAB_URL)" "$PY" "$FC" wait --url "$LAB_URL/healthz" --timeout 60
    "$PY" - "$D/trust-v2.json" "$D/trust-$1.json" "$REKOR_URL" "$LAB_URL" <<'PY'
import json, sys
src, dst, real, lab = sys.argv[1:]
tc = json.load(open(src))
for u in tc["signingConfig"]["rekorTlogUrls"]:
    if u["url"].rstrip("/") == real.rstrip("/"):
        u["url"] = lab
json.dump(tc, open(dst, "w"))
PY
}

# Signs through the lab with trust config $1 into bundle $2, then verifies offline.
sign_and_verify() { # trust-config bundle
    sig --trust-config "$1" sign --identity-token "$(token)" --bundle "$2" "$D/artifact.txt" &&
        sig --trust-config "$D/trust-v2.json" verify identity --offline --bundle "$2" \
            --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$D/artifact.txt"
}

lab honest "faults: []"
check "no faults: sigstore-python signs through the lab (Rekor v2 + TSA) and verifies" \
    sign_and_verify "$D/trust-honest.json" "$D/honest.json"
stop_pid "$LAB_PID"
LAB_PID=""

lab wrong-proof "faults:
  - fault: wrong-proof"
check "wrong-proof: sigstore-python ends with no bundle that verifies (the inclusion proof is wrong)" \
    refused sign_and_verify "$D/trust-wrong-proof.json" "$D/wrong-proof.json"
check "wrong-proof: sigstore-python names the inclusion proof" \
    grep -q "inclusion proof" "$D/sigstore-cli.log"
stop_pid "$LAB_PID"
LAB_PID=""

summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
