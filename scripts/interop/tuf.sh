#!/usr/bin/env bash
# TUF interop suite: a `sigstack tuf` repository (ceremony commands, `serve`, `export`) against
# python-tuf's ngclient, pinned and unmodified.
#
#   bash scripts/interop/tuf.sh
#
# It:
#   1. generates two ECDSA P-256 root keys and runs `sigstack tuf init` (threshold 2), then
#      `add-target` for trusted_root.json and signing_config.v0.2.json; and a second repository
#      whose root v1 is collected across invocations (one keyholder known by public key only:
#      `init` stages it, `publish` refuses it at 1 of 2, `sign-root` + `publish` complete it);
#   2. starts `target/debug/sigstack tuf serve` on a free loopback port and checks the HTTP
#      surface (404 for the next root, content types, Cache-Control);
#   3. python-tuf (tuf_client.py fetch): Updater(bootstrap=1.root.json).refresh() and
#      download_target for both targets, contents compared;
#   4. rotates the root: 2 -> 3 keys (the third Ed25519), threshold 2 -> 3 (`root add-key`,
#      `sign-root` across invocations, `publish` refusing while under-signed), then `root rotate`
#      revoking a key (threshold 3 -> 2); replaces trusted_root.json; the same client (walking
#      its cached root 1 -> 3) and a fresh one both refresh and download the new content;
#   5. a tampered target file on disk is refused by the client;
#   6. `publish` refuses an expired timestamp; a forced-expired one (served without the
#      refresher) makes the client fail; `export` refuses it too; after a normal `publish`,
#      `export` writes a static directory that python's http.server serves to the client (and
#      the second repository's export, too).
#
# python-tuf is pinned and cached in .cache/interop/venv-tuf. The servers are stopped and the
# throwaway files removed on any exit. Ends with one line on stdout,
# `tuf-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

# python-tuf and its whole dependency closure, pinned (its own venv: the suite needs no more).
TUF_PY_REQS="$REPO/scripts/interop/requirements-tuf.txt"

SUITE_NAME=tuf-interop
LOG_NAME="tuf interop"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"

# lib.sh's exit trap knows the Fulcio-stack servers; stop ours first, keeping the exit status.
TUF_PID=""
STATIC_PID=""
trap 'rc=$?; stop_pid "$TUF_PID"; stop_pid "$STATIC_PID"; (exit $rc); cleanup' EXIT

# --- tools -----------------------------------------------------------------------------

SECONDS=0
build_sigstack
ensure_venv venv-tuf python-tuf "$TUF_PY_REQS"
TC="$REPO/scripts/interop/tuf_client.py"
tools_ready "$("$PY" -c 'import tuf; print("python-tuf", tuf.__version__)')"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-tuf-interop.XXXXXX")
D=$WORK
R="$D/repo"
tuf() { "$SIGSTACK" tuf "$@"; }

# Runs a command that must fail, with stderr+stdout containing a phrase.
fails_saying() { # phrase command...
    local phrase=$1 out
    shift
    if out=$("$@" 2>&1); then
        log "unexpectedly succeeded: $*"
        printf '%s\n' "$out" >&2
        return 1
    fi
    if [[ "$out" != *"$phrase"* ]]; then
        log "failed without saying '$phrase':"
        printf '%s\n' "$out" >&2
        return 1
    fi
    log "refused: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)"
}

start_serve() { # extra serve flags...
    TUF_PORT=$(free_port)
    URL="http://127.0.0.1:$TUF_PORT"
    RUST_LOG=info "$SIGSTACK" tuf serve --repo "$R" --listen "127.0.0.1:$TUF_PORT" "$@" \
        >>"$D/serve.log" 2>&1 &
    TUF_PID=$!
    "$PY" "$TC" wait --url "$URL/healthz" --timeout 60
}

# --- ceremony --------------------------------------------------------------------------

printf '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": []}\n' >"$D/trusted_root.1.json"
printf '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": [], "ctlogs": []}\n' >"$D/trusted_root.2.json"
printf '{"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json", "caUrls": []}\n' >"$D/signing_config.json"

require "keygen: two ECDSA root keys and an Ed25519 one" bash -c "
    '$SIGSTACK' tuf keygen '$D/root1.pem' >/dev/null &&
    '$SIGSTACK' tuf keygen '$D/root2.pem' >/dev/null &&
    '$SIGSTACK' tuf keygen --algorithm ed25519 '$D/root3.pem' >/dev/null"
check "keygen refuses to overwrite a key" fails_saying "already exists" tuf keygen "$D/root1.pem"
require "init: root v1 with 2 root keys, threshold 2" \
    tuf init --repo "$R" --root-key "$D/root1.pem" --root-key "$D/root2.pem" --threshold 2
require "add-target trusted_root.json and signing_config.v0.2.json" bash -c "
    '$SIGSTACK' tuf add-target --repo '$R' trusted_root.json '$D/trusted_root.1.json' &&
    '$SIGSTACK' tuf add-target --repo '$R' signing_config.v0.2.json '$D/signing_config.json'"
check "layout: 1.root.json root.json timestamp.json 3.snapshot.json 3.targets.json targets/" \
    bash -c "cd '$R' && test -f 1.root.json -a -f root.json -a -f timestamp.json \
        -a -f 3.snapshot.json -a -f 3.targets.json -a -f targets/\$(sha256sum '$D/trusted_root.1.json' | cut -d' ' -f1).trusted_root.json"

R2="$D/repo2"
require "init with a keyholder elsewhere (public key only): root v1 staged, not published" bash -c "
    '$SIGSTACK' tuf keygen '$D/away.pem' >/dev/null &&
    '$SIGSTACK' tuf init --repo '$R2' --root-key '$D/root1.pem' --root-key '$D/away.pem.pub' --threshold 2 &&
    test ! -e '$R2/1.root.json' -a -f '$R2/staged/root.json'"
check "publish refuses root v1 signed by 1 of 2" fails_saying "threshold is 2" tuf publish --repo "$R2"
require "sign-root by the other keyholder, then publish: root v1 and the online metadata" bash -c "
    '$SIGSTACK' tuf sign-root --repo '$R2' --key '$D/away.pem' &&
    '$SIGSTACK' tuf publish --repo '$R2' &&
    test -f '$R2/1.root.json' -a -f '$R2/timestamp.json' -a -f '$R2/1.targets.json'"
require "add-target and export of the second repository" bash -c "
    '$SIGSTACK' tuf add-target --repo '$R2' trusted_root.json '$D/trusted_root.1.json' &&
    '$SIGSTACK' tuf export --repo '$R2' '$D/static/r2'"

# --- serving ---------------------------------------------------------------------------

require "serve starts" start_serve
check "HTTP: 1.root.json is JSON and immutable" \
    "$PY" "$TC" probe --url "$URL/1.root.json" --status 200 --content-type application/json --cache-control-has immutable
check "HTTP: timestamp.json has a short cache" \
    "$PY" "$TC" probe --url "$URL/timestamp.json" --status 200 --cache-control-has max-age=60
check "HTTP: 2.root.json is 404 (end of root rotation)" \
    "$PY" "$TC" probe --url "$URL/2.root.json" --status 404
check "HTTP: the online key and the lock are not served" bash -c "
    '$PY' '$TC' probe --url '$URL/private/online.pem' --status 404 &&
    '$PY' '$TC' probe --url '$URL/.lock' --status 404"

C1="$D/client1"
check "python-tuf: refresh() and download both targets (bootstrap 1.root.json)" \
    "$PY" "$TC" fetch --url "$URL" --workdir "$C1" --bootstrap "$R/1.root.json" \
    --target "trusted_root.json=$D/trusted_root.1.json" \
    --target "signing_config.v0.2.json=$D/signing_config.json" --expect-root-version 1

# --- root rotation ---------------------------------------------------------------------

require "root add-key: stage root v2 with a third (Ed25519) key, threshold 3" \
    tuf root add-key --repo "$R" "$D/root3.pem" --threshold 3
require "sign-root with the first old key" tuf sign-root --repo "$R" --key "$D/root1.pem"
check "publish refuses root v2 under-signed by root v1's keys (1/2)" \
    fails_saying "threshold is 2" tuf publish --repo "$R"
require "sign-root with the second old key (separate invocation)" \
    tuf sign-root --repo "$R" --key "$D/root2.pem"
check "publish refuses root v2 short of its own threshold (2/3)" \
    fails_saying "threshold is 3" tuf publish --repo "$R"
require "sign-root with the new key; publish root v2" bash -c "
    '$SIGSTACK' tuf sign-root --repo '$R' --key '$D/root3.pem' &&
    '$SIGSTACK' tuf root status --repo '$R' | grep -q 'ready to publish' &&
    '$SIGSTACK' tuf publish --repo '$R' && test -f '$R/2.root.json'"
require "root rotate: revoke root1, threshold 3 -> 2, signed by root1..3, published as v3" bash -c "
    '$SIGSTACK' tuf root rotate --repo '$R' --revoke-key '$D/root1.pem' --threshold 2 \
        --sign-key '$D/root1.pem' --sign-key '$D/root2.pem' --sign-key '$D/root3.pem' &&
    test -f '$R/3.root.json'"
require "add-target: replace trusted_root.json (old content kept on disk)" bash -c "
    '$SIGSTACK' tuf add-target --repo '$R' trusted_root.json '$D/trusted_root.2.json' &&
    test -f '$R/targets/'\$(sha256sum '$D/trusted_root.1.json' | cut -d' ' -f1).trusted_root.json"
check "python-tuf: the same client walks root 1 -> 3 and downloads the new trusted_root.json" \
    "$PY" "$TC" fetch --url "$URL" --workdir "$C1" \
    --target "trusted_root.json=$D/trusted_root.2.json" \
    --target "signing_config.v0.2.json=$D/signing_config.json" --expect-root-version 3
check "python-tuf: a fresh client bootstrapped with 1.root.json does the same" \
    "$PY" "$TC" fetch --url "$URL" --workdir "$D/client2" --bootstrap "$R/1.root.json" \
    --target "trusted_root.json=$D/trusted_root.2.json" \
    --target "signing_config.v0.2.json=$D/signing_config.json" --expect-root-version 3

# --- tampering and expiry --------------------------------------------------------------

T2="$R/targets/$(sha256sum "$D/trusted_root.2.json" | cut -d' ' -f1).trusted_root.json"
cp "$T2" "$D/t2.bak"
printf '{"tampered": true}\n' >"$T2"
check "python-tuf: a tampered target file is refused (LengthOrHashMismatchError)" \
    "$PY" "$TC" fetch --url "$URL" --workdir "$D/client3" --bootstrap "$R/1.root.json" \
    --target "trusted_root.json=$D/trusted_root.2.json" --expect-error LengthOrHashMismatchError
check "export refuses a repository with a tampered target" \
    fails_saying "trusted_root.json: length" tuf export --repo "$R" "$D/export-bad"
cp "$D/t2.bak" "$T2"

check "publish refuses an expired timestamp" \
    fails_saying "expired" tuf publish --repo "$R" --timestamp-expires=-1h
stop_pid "$TUF_PID"
TUF_PID=""
require "publish --unsafe-allow-expired writes an expired timestamp" \
    tuf publish --repo "$R" --timestamp-expires=-1h --unsafe-allow-expired
require "serve (no refresher) restarts" start_serve --no-refresh
check "python-tuf: an expired timestamp fails the client (ExpiredMetadataError)" \
    "$PY" "$TC" fetch --url "$URL" --workdir "$C1" \
    --target "trusted_root.json=$D/trusted_root.2.json" --expect-error ExpiredMetadataError
check "export refuses an expired repository" \
    fails_saying "expired" tuf export --repo "$R" "$D/export-expired"
stop_pid "$TUF_PID"
TUF_PID=""

# --- recovery and static export --------------------------------------------------------

require "publish: a fresh timestamp" tuf publish --repo "$R"
require "export: a static directory" tuf export --repo "$R" "$D/static"
check "export holds no key, lock or staging area" \
    bash -c "test ! -e '$D/static/private' -a ! -e '$D/static/.lock' -a ! -e '$D/static/staged' -a -f '$D/static/3.root.json'"
STATIC_PORT=$(free_port)
"$PY" -m http.server "$STATIC_PORT" --bind 127.0.0.1 --directory "$D/static" >"$D/static.log" 2>&1 &
STATIC_PID=$!
require "python http.server serves the export" \
    "$PY" "$TC" wait --url "http://127.0.0.1:$STATIC_PORT/root.json" --timeout 30
check "status: versions, no staged root, verifies" bash -c "
    out=\$('$SIGSTACK' tuf status --repo '$R') && printf '%s\\n' \"\$out\" >&2 &&
    grep -q 'root      v3' <<<\"\$out\" && grep -q 'no staged root' <<<\"\$out\" &&
    grep -q 'verifies now' <<<\"\$out\""
check "python-tuf: the recovered, exported repository refreshes and downloads (cached client)" \
    "$PY" "$TC" fetch --url "http://127.0.0.1:$STATIC_PORT" --workdir "$C1" \
    --target "trusted_root.json=$D/trusted_root.2.json" \
    --target "signing_config.v0.2.json=$D/signing_config.json" --expect-root-version 3

check "python-tuf: the second repository (root v1 signed across invocations), served statically" \
    "$PY" "$TC" fetch --url "http://127.0.0.1:$STATIC_PORT/r2" --workdir "$D/client4" \
    --bootstrap "$R2/1.root.json" --target "trusted_root.json=$D/trusted_root.1.json" \
    --expect-root-version 1

log "done in ${SECONDS}s"
summary_printed=1
printf 'tuf-interop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
