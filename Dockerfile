# The sigstack container image: one binary, every service is a subcommand.
#
#   docker build -t sigstack .
#   docker run --rm sigstack --help
#
# docker-compose.yml runs each service from this image; docs/deploy.md explains it all.
# scripts/check-docker.sh builds it and runs the compose stack from it under a real engine.
#
# No `# syntax=` line: the engine's built-in Dockerfile frontend reads this file, so a build
# needs no frontend image from a registry (scripts/check-docker.sh builds offline).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- planner: a dependency-only skeleton of the workspace ---------------------------------
# Only manifests, the lock file and empty target roots: the next stage's dependency layer is
# rebuilt only when one of those changes, not on every source edit.
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS planner
WORKDIR /src
COPY . .
RUN sh scripts/compose/cargo-skeleton.sh /src /skeleton

# ---- builder --------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
# aws-lc-sys (under reqwest's rustls) may want cmake; bundled SQLite needs only a C compiler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# No debug info in the image's binary (the workspace's release profile keeps some).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_TERM_COLOR=never
# Where TLS to the crate registry passes a proxy with its own CA, hand the host's CA bundle in
# as a build secret (never stored in a layer), which cargo then trusts:
#   docker build --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt -t sigstack .
# Without it the mount is empty and cargo keeps its own roots.
# 1. Dependencies only (cached until Cargo.toml/Cargo.lock change).
COPY --from=planner /skeleton/ ./
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export CARGO_HTTP_CAINFO=/run/secrets/ca-bundle; fi \
    && cargo build --release --locked -p sigstack
# 2. The real sources. COPY keeps the context's mtimes, which may be older than the stub
#    build above: touch them so cargo rebuilds every workspace crate.
COPY . .
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export CARGO_HTTP_CAINFO=/run/secrets/ca-bundle; fi \
    && find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p sigstack \
    && install -D -m 0755 target/release/sigstack /out/sigstack \
    && install -D -m 0755 scripts/compose/init.sh /out/sigstack-compose-init \
    && install -D -m 0755 scripts/kubernetes/init.sh /out/sigstack-kubernetes-init

# ---- runtime --------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: outbound TLS (OIDC discovery/JWKS of real issuers). curl: health checks
# (every service serves GET /healthz).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged UID/GID so volume ownership is predictable across rebuilds.
ARG SIGSTACK_UID=10001
ARG SIGSTACK_GID=10001
RUN groupadd --system --gid "${SIGSTACK_GID}" sigstack \
    && useradd --system --uid "${SIGSTACK_UID}" --gid sigstack --home-dir /data \
        --no-create-home --shell /usr/sbin/nologin sigstack \
    && install -d -m 0700 -o sigstack -g sigstack /data /keys /offline
COPY --from=builder /out/sigstack /out/sigstack-compose-init /out/sigstack-kubernetes-init /usr/local/bin/
# /data: state that must survive the container; /keys: private keys (docker-compose.yml
# mounts a named volume on each; a fresh named volume takes these owners and modes). Only
# /data is declared a VOLUME, so one-shot containers do not leave anonymous key volumes.
VOLUME ["/data"]
# Numeric, so Kubernetes' runAsNonRoot and the host can check it without /etc/passwd.
USER ${SIGSTACK_UID}:${SIGSTACK_GID}
WORKDIR /data
ENV RUST_LOG=info
# Documentation only: the default ports of the services (each listens where --listen says).
EXPOSE 6962 5555 3000 3003 8081 8080
# No image-wide HEALTHCHECK: which service a container runs is its command. Every service
# serves GET /healthz and curl is here, so a probe is one line, e.g.
#   curl -fsS http://127.0.0.1:6962/healthz
# (docker-compose.yml gives each service its own).
ENTRYPOINT ["sigstack"]
CMD ["--help"]
