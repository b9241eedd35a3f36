#!/bin/sh
# The one-shot `init` service of docker-compose.yml (in the image as
# /usr/local/bin/sigstack-compose-init): creates, once, every key, the CA root, the TSA
# chain, Fulcio's issuer configuration and the TUF repository that the services need.
#
# Idempotent: it never replaces a key, certificate or configuration that exists, so it runs
# before every `docker compose up`. To rotate something, see docs/deploy.md.
#
# Knobs (environment; the defaults are the container paths of docker-compose.yml):
#   SIGSTACK_INIT_KEYS_DIR        online keys and certificates          (/keys)
#   SIGSTACK_INIT_OFFLINE_DIR     the TUF root key: keep it offline     (/offline)
#   SIGSTACK_INIT_DATA_DIR        configuration and the TUF repository  (/data)
#   SIGSTACK_INIT_CA_COMMON_NAME  subject CN of a new Fulcio root       (sigstack CA)
#   SIGSTACK_INIT_OIDC_ISSUER_URL the OIDC issuer Fulcio trusts, written to a new
#                                 fulcio-config.yaml and to signing_config (required: your
#                                 IdP, or http://dev-issuer:8080 with `--profile dev`)
#   SIGSTACK_INIT_OIDC_CLIENT_ID  its audience                          (sigstore)
#   SIGSTACK_KEY_PASSWORD         encrypts every key it makes (required, unless
#                                 SIGSTACK_INSECURE_PLAINTEXT_KEY=true for a trial)
#   SIGSTACK_KEY_PASSWORD_FILE    or: the file holding that password (a mounted Secret)
#   SIGSTACK_FULCIO_PUBLIC_URL, SIGSTACK_CTLOG_PUBLIC_URL, SIGSTACK_REKOR_PUBLIC_URL,
#   SIGSTACK_TSA_PUBLIC_URL, SIGSTACK_TUF_PUBLIC_URL
#                                 the URLs clients use, written into the trust files
#                                 (required; docker-compose.yml derives them from one place)
set -eu

KEYS=${SIGSTACK_INIT_KEYS_DIR:-/keys}
OFFLINE=${SIGSTACK_INIT_OFFLINE_DIR:-/offline}
DATA=${SIGSTACK_INIT_DATA_DIR:-/data}
CA_CN=${SIGSTACK_INIT_CA_COMMON_NAME:-sigstack CA}
ISSUER=${SIGSTACK_INIT_OIDC_ISSUER_URL:-}
CLIENT_ID=${SIGSTACK_INIT_OIDC_CLIENT_ID:-sigstore}

say() { printf 'init: %s\n' "$*"; }
die() { printf 'init: error: %s\n' "$*" >&2; exit 1; }

# Everything is checked before anything is written.
[ -n "$ISSUER" ] || die "SIGSTACK_OIDC_ISSUER_URL is not set: name the OIDC issuer Fulcio is to trust (your organisation's IdP), or for a trial run the development issuer: SIGSTACK_OIDC_ISSUER_URL=http://dev-issuer:8080 docker compose --profile dev up"
case "${SIGSTACK_INSECURE_PLAINTEXT_KEY:-false}" in
1 | true | yes | on) ;;
*) [ -n "${SIGSTACK_KEY_PASSWORD:-}" ] || [ -s "${SIGSTACK_KEY_PASSWORD_FILE:-/nonexistent}" ] || die "SIGSTACK_KEY_PASSWORD is not set: every key is encrypted under it (a long random string in .env; or a file named by SIGSTACK_KEY_PASSWORD_FILE); for a throwaway trial, SIGSTACK_INSECURE_PLAINTEXT_KEY=true" ;;
esac
for var in SIGSTACK_FULCIO_PUBLIC_URL SIGSTACK_CTLOG_PUBLIC_URL SIGSTACK_REKOR_PUBLIC_URL \
    SIGSTACK_TSA_PUBLIC_URL SIGSTACK_TUF_PUBLIC_URL; do
    eval "value=\${$var:-}"
    [ -n "$value" ] || die "$var is not set (docker-compose.yml sets it from SIGSTACK_PUBLIC_HOST and the ports)"
done
say "public URLs: fulcio $SIGSTACK_FULCIO_PUBLIC_URL, ctlog $SIGSTACK_CTLOG_PUBLIC_URL, rekor $SIGSTACK_REKOR_PUBLIC_URL, tsa $SIGSTACK_TSA_PUBLIC_URL, tuf $SIGSTACK_TUF_PUBLIC_URL"

umask 077
mkdir -p "$KEYS" "$OFFLINE" "$DATA/config" "$DATA/rekor" "$DATA/tuf"

# A key (PKCS#8 PEM, owner-only) and its public key FILE.pub, unless the key exists.
keygen() { # file algorithm
    if [ -f "$1" ]; then
        say "kept $1"
    else
        sigstack tuf keygen "$1" --algorithm "$2"
    fi
}

# 1. The CA that issues signing certificates, and the CT log that must accept its root.
sigstack ca init --key "$KEYS/fulcio-ca.pem" --chain "$KEYS/fulcio-chain.pem" \
    --common-name "$CA_CN"
keygen "$KEYS/ctlog.pem" ecdsa-p256

# 2. Rekor's two log keys: v1 (ECDSA P-256) and v2 (Ed25519).
keygen "$KEYS/rekor-v1.pem" ecdsa-p256
keygen "$KEYS/rekor-v2.pem" ed25519

# 3. The timestamp authority's key and certificate chain.
sigstack ca init-tsa --key "$KEYS/tsa-key.pem" --chain "$KEYS/tsa-chain.pem"

# 4. Fulcio's OIDC issuers (upstream Fulcio's format). Edit the file in the data volume to
#    add your organisation's issuer; the init never overwrites it.
if [ -f "$DATA/config/fulcio-config.yaml" ]; then
    say "kept $DATA/config/fulcio-config.yaml"
else
    cat >"$DATA/config/fulcio-config.yaml" <<EOF
# Fulcio's OIDC issuers (upstream Fulcio's format: oidc-issuers, meta-issuers,
# ci-issuer-metadata). Written once by the compose init service; edit and restart fulcio.
oidc-issuers:
  "$ISSUER":
    issuer-url: "$ISSUER"
    client-id: "$CLIENT_ID"
    type: email
EOF
    say "wrote $DATA/config/fulcio-config.yaml (issuer $ISSUER)"
fi

# 5. The TUF repository: root v1 signed by the offline root key (threshold 1 here; see
#    docs/deploy.md for a real ceremony), online key for timestamp/snapshot/targets, and
#    the public keys and chains of the services as targets.
keygen "$OFFLINE/tuf-root.pem" ecdsa-p256
keygen "$KEYS/tuf-online.pem" ecdsa-p256
if [ -f "$DATA/tuf/root.json" ]; then
    say "kept the TUF repository $DATA/tuf"
else
    sigstack tuf init --repo "$DATA/tuf" --root-key "$OFFLINE/tuf-root.pem" --threshold 1 \
        --online-key "$KEYS/tuf-online.pem"
fi
# 6. trusted_root.json and signing_config.v0.2.json for exactly these keys and the URLs clients
#    use, through TUF, with the key history in $DATA (a rotated key keeps its entry, its
#    window closed). Client files land in $DATA/trust/. Re-run after any rotation or URL
#    change. The Rekor logs' name (the v2 origin) comes from the shard layout Rekor uses,
#    recorded there by whichever of the two runs first; the active Rekor v2 log and CT shard
#    (each at its own path after a rotation) from Rekor's and the CT log's layouts.
sigstack trust publish --repo "$DATA/tuf" --online-key "$KEYS/tuf-online.pem" --state-dir "$DATA" \
    --fulcio-url "$SIGSTACK_FULCIO_PUBLIC_URL" --fulcio-chain "$KEYS/fulcio-chain.pem" \
    --ctlog-url "$SIGSTACK_CTLOG_PUBLIC_URL" --ctlog-key "$KEYS/ctlog.pem" --ctlog-shards "$DATA/ctlog/shards.json" \
    --rekor-url "$SIGSTACK_REKOR_PUBLIC_URL" --rekor-shards "$DATA/rekor/shards.json" \
    --rekor-v1-key "$KEYS/rekor-v1.pem" --rekor-v2-key "$KEYS/rekor-v2.pem" \
    --tsa-url "$SIGSTACK_TSA_PUBLIC_URL" --tsa-chain "$KEYS/tsa-chain.pem" \
    --oidc-url "$ISSUER"
say "done"
