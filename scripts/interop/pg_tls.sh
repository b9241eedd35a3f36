#!/usr/bin/env bash
# PostgreSQL over TLS, and a service's own HTTPS listener, with the real binary.
#
#   bash scripts/interop/pg_tls.sh
#
# It:
#   1. makes a CA, a server certificate for 127.0.0.1 from it, and a second, unrelated CA
#      (openssl);
#   2. starts a throwaway PostgreSQL cluster serving TLS with that certificate
#      (scripts/with-postgres.sh with SIGSTACK_PG_TLS_CERT/KEY; never the shared server, whose
#      configuration other tests rely on);
#   3. checks that `sigstack migrate` works with `sslmode=verify-full` and the right
#      `sslrootcert`, with `verify-ca` and with `sslmode=require`; that the other CA is refused,
#      as is a host name the certificate does not name (`verify-full`), and that a missing
#      `sslrootcert` file is named in the error;
#   4. starts `sigstack rekor` on that database (`verify-full`) serving HTTPS itself
#      (`--tls-cert`, `--tls-key`), writes an entry through it and reads it back, sees its
#      database connections encrypted (pg_stat_ssl); then replaces the listener's certificate
#      files with a certificate from the other CA and sees new connections get it.
#
# Needs openssl, python3 and PostgreSQL's server binaries (or what with-postgres.sh can install).
# Everything started is stopped, and the throwaway files removed, on any exit. Ends with one
# line on stdout, `pg-tls-interop: N passed, M failed`, and exits non-zero if any check failed.
# KEEP_INTEROP_DIR=1 keeps the work directory for debugging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

# Makes a key and certificate, $1.key (PKCS#8) and $1.crt: a self-signed CA if $2 is "", else a
# server certificate for subjectAltName $3 issued by the CA $2 ($2.crt, $2.key).
issue() { # out-prefix ca-prefix [san]
    local out=$1 ca=$2 san=${3:-}
    openssl ecparam -name prime256v1 -genkey -noout -out "$out.key.sec1" 2>/dev/null
    # PKCS#8: what both the PostgreSQL server and sigstack's listener read.
    openssl pkcs8 -topk8 -nocrypt -in "$out.key.sec1" -out "$out.key"
    rm -f "$out.key.sec1"
    if [[ -z "$ca" ]]; then
        openssl req -x509 -new -key "$out.key" -days 2 -subj "/CN=$(basename "$out") test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$out.crt" 2>/dev/null
    else
        openssl req -new -key "$out.key" -subj "/CN=$(basename "$out")" -out "$out.csr" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
            "$san" >"$out.ext"
        openssl x509 -req -in "$out.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
            -days 2 -extfile "$out.ext" -out "$out.crt" 2>/dev/null
        rm -f "$out.csr" "$out.ext"
    fi
}

# --- outer: certificates, then this script again inside a TLS cluster ---------------------
if [[ "${1:-}" != --inside-cluster ]]; then
    CERTS=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-pg-tls-certs.XXXXXX")
    trap 'rm -rf "$CERTS"' EXIT
    issue "$CERTS/ca" ""
    issue "$CERTS/server" "$CERTS/ca" "IP:127.0.0.1"
    issue "$CERTS/other-ca" ""
    issue "$CERTS/server2" "$CERTS/other-ca" "IP:127.0.0.1"
    # A TLS cluster of our own, whatever server the caller's tests use.
    rc=0
    env -u SIGSTACK_TEST_DATABASE_URL -u DATABASE_URL SIGSTACK_TEST_PG=auto \
        SIGSTACK_PG_TLS_CERT="$CERTS/server.crt" SIGSTACK_PG_TLS_KEY="$CERTS/server.key" \
        PG_TLS_CERTS="$CERTS" \
        bash "$REPO/scripts/with-postgres.sh" bash "$REPO/scripts/interop/pg_tls.sh" --inside-cluster ||
        rc=$?
    if [[ ! -e "$CERTS/inside-ran" ]]; then
        echo "pg-tls: no PostgreSQL cluster with TLS could be started (output above)" >&2
        echo "pg-tls-interop: 0 passed, 1 failed"
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
fi

# --- inside: the checks -------------------------------------------------------------------
SUITE_NAME=pg-tls-interop
LOG_NAME="pg-tls"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"
CERTS=$PG_TLS_CERTS
: >"$CERTS/inside-ran"
export RUST_BACKTRACE=0 # the errors checked below, without a page of frames each

SECONDS=0
build_sigstack
PY=$(command -v python3) # free_port and https below: the standard library is enough
tools_ready "$(openssl version), $("$PY" --version)"

# An HTTPS request trusting only the CA file: GET, or POST of a JSON file. Prints the body;
# fails on a refused handshake or an answer other than 2xx.
https() { # ca url [json-file]
    "$PY" - "$@" <<'PY'
import ssl
import sys
import urllib.request

ca, url = sys.argv[1], sys.argv[2]
body = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
headers = {"content-type": "application/json"} if body else {}
context = ssl.create_default_context(cafile=ca)  # this CA only, not the system's
request = urllib.request.Request(url, data=body, headers=headers)
with urllib.request.urlopen(request, context=context, timeout=10) as answer:
    sys.stdout.buffer.write(answer.read())
PY
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-pg-tls.XXXXXX")
D=$WORK

ADMIN_URL=$SIGSTACK_TEST_DATABASE_URL # postgres://postgres@127.0.0.1:PORT/postgres
PORT=${ADMIN_URL##*:}
PORT=${PORT%%/*}
require "the cluster serves TLS with the test certificate (psql, verify-full)" \
    psql -X -w -q -A -t -v ON_ERROR_STOP=1 \
    -d "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=verify-full&sslrootcert=$CERTS/ca.crt" \
    -c "select 1 from pg_stat_ssl where pid = pg_backend_pid() and ssl"
psql -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE sigstack_tls" >/dev/null

DB="postgres://postgres@127.0.0.1:$PORT/sigstack_tls"
VERIFY_FULL="$DB?sslmode=verify-full&sslrootcert=$CERTS/ca.crt"

migrate_ok() { # url
    "$SIGSTACK" migrate --database-url "$1" >"$D/migrate.out" 2>&1 || {
        cat "$D/migrate.out" >&2
        return 1
    }
}
# Refused, and the error says why: $2 is a pattern the error must match.
migrate_refused() { # url pattern
    if "$SIGSTACK" migrate --database-url "$1" >"$D/migrate.out" 2>&1; then
        log "migrate succeeded with $1"
        return 1
    fi
    log "refused as expected: $(tr '\n' ' ' <"$D/migrate.out")"
    grep -Eiq -- "$2" "$D/migrate.out"
}

require "migrate with sslmode=verify-full and the right CA" migrate_ok "$VERIFY_FULL"
check "migrate with the wrong CA is refused: the certificate's issuer is unknown" \
    migrate_refused "$DB?sslmode=verify-full&sslrootcert=$CERTS/other-ca.crt" "invalid peer certificate.*UnknownIssuer"
check "verify-full refuses a host name the certificate does not name (localhost)" \
    migrate_refused "postgres://postgres@localhost:$PORT/sigstack_tls?sslmode=verify-full&sslrootcert=$CERTS/ca.crt" \
    "invalid peer certificate.*not valid for name"
# (verify-ca checks the chain; sqlx 0.8 also checks the name with rustls >= 0.23.24, its issue
# 3793, so it is tried with the certificate's own address: docs/deploy.md says so.)
check "migrate with sslmode=verify-ca and the right CA" \
    migrate_ok "$DB?sslmode=verify-ca&sslrootcert=$CERTS/ca.crt"
check "migrate with sslmode=require (encrypted, nothing verified)" migrate_ok "$DB?sslmode=require"
check "a missing sslrootcert file is refused and named" \
    migrate_refused "$DB?sslmode=verify-full&sslrootcert=$D/no-such-ca.crt" "sslrootcert=.*no-such-ca.crt cannot be read"

# --- a service on that database, serving HTTPS itself ---------------------------------------
cp "$CERTS/server.crt" "$D/listen.crt"
cp "$CERTS/server.key" "$D/listen.key"
REKOR_PORT=$(free_port)
REKOR_URL="https://127.0.0.1:$REKOR_PORT"
SIGSTACK_TLS_RELOAD_SECS=1 RUST_LOG=info "$SIGSTACK" rekor --listen "127.0.0.1:$REKOR_PORT" \
    --database-url "$VERIFY_FULL" --tls-cert "$D/listen.crt" --tls-key "$D/listen.key" \
    --v1-key "$D/rekor-v1.pem" --v2-key "$D/rekor-v2.pem" --shards "$D/rekor-shards.json" \
    --url "$REKOR_URL" >"$D/rekor.log" 2>&1 &
REKOR_PID=$!

wait_https() { # url ca
    local i
    for ((i = 0; i < 300; i++)); do
        https "$2" "$1" >/dev/null 2>&1 && return 0
        kill -0 "$REKOR_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
require "Rekor starts on the verify-full database and answers over HTTPS" \
    wait_https "$REKOR_URL/healthz" "$CERTS/ca.crt"
check "Rekor's readiness probe answers over HTTPS" \
    https "$CERTS/ca.crt" "$REKOR_URL/readyz" >/dev/null

# A hashedrekord entry signed with a fresh key (openssl), written through the service.
openssl ecparam -name prime256v1 -genkey -noout -out "$D/signer.key" 2>/dev/null
openssl ec -in "$D/signer.key" -pubout -out "$D/signer.pub" 2>/dev/null
printf 'written over TLS at %s\n' "$(date +%s%N)" >"$D/artifact"
openssl dgst -sha256 -sign "$D/signer.key" -out "$D/artifact.sig" "$D/artifact"
cat >"$D/entry.json" <<EOF
{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
  "signature": {"content": "$(base64 -w0 "$D/artifact.sig")",
                "publicKey": {"content": "$(base64 -w0 "$D/signer.pub")"}},
  "data": {"hash": {"algorithm": "sha256", "value": "$(sha256sum "$D/artifact" | cut -d' ' -f1)"}}}}
EOF
write_entry() {
    https "$CERTS/ca.crt" "$REKOR_URL/api/v1/log/entries" "$D/entry.json" >"$D/written.json" &&
        grep -q '"logIndex"' "$D/written.json"
}
require "an entry written through Rekor (HTTPS in, PostgreSQL verify-full behind)" write_entry
read_back() {
    https "$CERTS/ca.crt" "$REKOR_URL/api/v1/log" >"$D/log.json" &&
        grep -Eq '"treeSize": ?1[,}]' "$D/log.json"
}
check "the log has it (tree size 1)" read_back
encrypted_sessions() {
    local n
    n=$(psql -X -w -q -A -t -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c \
        "select count(*) from pg_stat_ssl s join pg_stat_activity a using (pid)
         where a.datname = 'sigstack_tls' and s.ssl")
    log "Rekor's encrypted sessions: $n"
    [[ $n -gt 0 ]]
}
check "Rekor's database sessions are encrypted (pg_stat_ssl)" encrypted_sessions

# The listener's certificate replaced (as a renewal does: rename over the files) by one from
# the other CA: new connections get it, without a restart.
cp "$CERTS/server2.crt" "$D/listen.crt.new"
cp "$CERTS/server2.key" "$D/listen.key.new"
mv "$D/listen.key.new" "$D/listen.key"
mv "$D/listen.crt.new" "$D/listen.crt"
check "after the files are replaced, new connections get the new certificate" \
    wait_https "$REKOR_URL/healthz" "$CERTS/other-ca.crt"
old_ca_refused() {
    ! https "$CERTS/ca.crt" "$REKOR_URL/healthz" >/dev/null 2>&1
}
check "and a client trusting only the old CA no longer connects" old_ca_refused
check "Rekor logged the reload" grep -q "new certificate in force" "$D/rekor.log"

# A broken replacement is refused and the certificate in force kept.
echo "not a key" >"$D/listen.key"
sleep 2.5
check "a replacement that does not load is logged" grep -q "do not load; keeping the certificate in force" "$D/rekor.log"
check "and the certificate in force still serves" \
    https "$CERTS/other-ca.crt" "$REKOR_URL/healthz" >/dev/null

stop_pid "$REKOR_PID"
REKOR_PID=""

log "done in ${SECONDS}s"
summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
