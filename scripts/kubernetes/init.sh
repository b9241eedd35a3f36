#!/bin/sh
# The init Job of deploy/kubernetes/dev (in the image as /usr/local/bin/sigstack-kubernetes-init):
# makes every key, the CA, the TSA chain, Rekor's shard layout and the TUF repository exactly as
# the compose init does (it runs sigstack-compose-init into the pod's scratch volumes), then
# stores what the services mount through the API server:
#   Secret    sigstack-keys          the key files (encrypted) and certificate chains of /keys
#   ConfigMap sigstack-rekor-shards  shards.json, which names Rekor's logs
#   ConfigMap sigstack-ctlog-shards  shards.json, the CT log's shard layout (one shard until a
#                                    `sigstack rotate ctlog`, docs/kubernetes.md)
#   ConfigMap sigstack-tuf-seed      the new TUF repository's metadata (root v1 ...), which the
#                                    TUF pod seeds its volume from
# The Secret is written last: once it exists the init is done, and a later run changes nothing.
# The TUF root key is not kept (a development deployment; production's root comes from an
# offline ceremony, docs/kubernetes.md).
#
# Offline, for production (docs/kubernetes.md): with SIGSTACK_KUBE_OUTPUT_DIR set it talks to no
# API server and writes the four objects there as JSON files for `kubectl apply -f`; with
# SIGSTACK_INIT_TUF_SEED the TUF seed is that repository, made by the offline root ceremony
# (`sigstack tuf init`, whose online key must be SCRATCH/keys/tuf-online.pem), not a new root.
#
# Knobs (environment), besides those of sigstack-compose-init:
#   SIGSTACK_KUBE_API_URL          the API server (https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
#   SIGSTACK_KUBE_SERVICEACCOUNT   the mounted service-account token, CA and namespace
#                                  (/var/run/secrets/kubernetes.io/serviceaccount)
#   SIGSTACK_KUBE_OUTPUT_DIR       write the objects here instead (offline)
#   SIGSTACK_INIT_TUF_SEED         the root ceremony's repository (offline; default: a new root)
#   SIGSTACK_INIT_SCRATCH          where the compose init writes (/scratch); keep it offline
set -eu

SA=${SIGSTACK_KUBE_SERVICEACCOUNT:-/var/run/secrets/kubernetes.io/serviceaccount}
API=${SIGSTACK_KUBE_API_URL:-https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}}
SCRATCH=${SIGSTACK_INIT_SCRATCH:-/scratch}
OUT=${SIGSTACK_KUBE_OUTPUT_DIR:-}
SEED=${SIGSTACK_INIT_TUF_SEED:-}
if [ -z "$OUT" ]; then
    NS=$(cat "$SA/namespace")
    TOKEN=$(cat "$SA/token")
fi

say() { printf 'kubernetes-init: %s\n' "$*"; }
die() { printf 'kubernetes-init: error: %s\n' "$*" >&2; exit 1; }

# api METHOD PATH [BODY-FILE]: prints the HTTP status; the response body is in $SCRATCH/response.
api() {
    if [ $# -ge 3 ]; then
        curl -sS --cacert "$SA/ca.crt" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -X "$1" --data-binary "@$3" -o "$SCRATCH/response" -w '%{http_code}' "$API/api/v1/namespaces/$NS/$2"
    else
        curl -sS --cacert "$SA/ca.crt" -H "Authorization: Bearer $TOKEN" \
            -X "$1" -o "$SCRATCH/response" -w '%{http_code}' "$API/api/v1/namespaces/$NS/$2"
    fi
}

# object KIND NAME FIELD DIR FILE...: a JSON Secret or ConfigMap whose FIELD (data or
# binaryData) holds each FILE of DIR, base64-encoded, under its own name.
object() {
    kind=$1 name=$2 field=$3 dir=$4
    shift 4
    printf '{"apiVersion":"v1","kind":"%s","metadata":{"name":"%s","labels":{"app.kubernetes.io/name":"sigstack","app.kubernetes.io/managed-by":"sigstack-kubernetes-init"}},"%s":{' "$kind" "$name" "$field"
    sep=""
    for f in "$@"; do
        printf '%s"%s":"%s"' "$sep" "$f" "$(base64 -w0 "$dir/$f")"
        sep=","
    done
    printf '}}'
}

# put KIND PLURAL NAME FIELD DIR FILE...: creates the object, or replaces it if it exists.
put() {
    kind=$1 plural=$2 name=$3 field=$4 dir=$5
    shift 5
    if [ -n "$OUT" ]; then
        object "$kind" "$name" "$field" "$dir" "$@" >"$OUT/$name.json"
        say "wrote $OUT/$name.json ($*)"
        return
    fi
    object "$kind" "$name" "$field" "$dir" "$@" >"$SCRATCH/body.json"
    code=$(api POST "$plural" "$SCRATCH/body.json")
    if [ "$code" = 409 ]; then
        code=$(api PUT "$plural/$name" "$SCRATCH/body.json")
    fi
    case "$code" in
    200 | 201) say "stored $kind $name ($*)" ;;
    *) die "storing $kind $name: HTTP $code: $(cat "$SCRATCH/response")" ;;
    esac
}

mkdir -p "$SCRATCH"
if [ -n "$OUT" ]; then
    mkdir -p "$OUT"
else
    code=$(api GET secrets/sigstack-keys)
    case "$code" in
    200) say "Secret sigstack-keys exists: nothing to do"; exit 0 ;;
    404) ;;
    *) die "reading Secret sigstack-keys: HTTP $code: $(cat "$SCRATCH/response")" ;;
    esac
fi

export SIGSTACK_INIT_KEYS_DIR="$SCRATCH/keys" SIGSTACK_INIT_OFFLINE_DIR="$SCRATCH/offline" \
    SIGSTACK_INIT_DATA_DIR="$SCRATCH/data"
# The TUF repository as the root ceremony leaves it (root v1, empty targets, snapshot and
# timestamp by the online key): the seed of the TUF pod, which publishes the targets itself.
# The compose init below finds both keys and the repository and keeps them.
umask 077
mkdir -p "$SCRATCH/keys" "$SCRATCH/offline" "$SCRATCH/data/tuf" "$SCRATCH/seed"
if [ -n "$SEED" ]; then
    [ -f "$SEED/root.json" ] || die "SIGSTACK_INIT_TUF_SEED=$SEED holds no root.json"
    [ -f "$SCRATCH/keys/tuf-online.pem" ] || die "the ceremony's online key belongs in $SCRATCH/keys/tuf-online.pem"
    cp "$SEED/"*.json "$SCRATCH/seed/"
    say "the TUF seed is the root ceremony's repository $SEED"
else
    sigstack tuf keygen "$SCRATCH/offline/tuf-root.pem" --algorithm ecdsa-p256
    sigstack tuf keygen "$SCRATCH/keys/tuf-online.pem" --algorithm ecdsa-p256
    sigstack tuf init --repo "$SCRATCH/data/tuf" --root-key "$SCRATCH/offline/tuf-root.pem" --threshold 1 \
        --online-key "$SCRATCH/keys/tuf-online.pem"
    cp "$SCRATCH/data/tuf/"*.json "$SCRATCH/seed/"
fi
sigstack-compose-init

cd "$SCRATCH/seed"
# shellcheck disable=SC2046 # the file names are the repository's own (N.role.json)
put ConfigMap configmaps sigstack-tuf-seed binaryData "$SCRATCH/seed" $(ls -- *.json)
put ConfigMap configmaps sigstack-rekor-shards binaryData "$SCRATCH/data/rekor" shards.json
put ConfigMap configmaps sigstack-ctlog-shards binaryData "$SCRATCH/data/ctlog" shards.json
cd "$SCRATCH/keys"
# shellcheck disable=SC2046 # key and certificate files: fixed names without spaces
put Secret secrets sigstack-keys data "$SCRATCH/keys" $(ls)
say "done"
