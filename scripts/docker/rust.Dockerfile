# An offline stand-in for the official rust:<version>-bookworm image, for scripts/check-docker.sh
# on a machine that reaches no image registry: the Debian base made by debootstrap (imported as
# debian:bookworm-slim), the C toolchain the official image carries, and the host's Rust
# toolchain (the build context, staged by the script) where the official image has it.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev make pkg-config git \
    && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# toolchain/: the toolchain's bin/ and lib/ (no docs); cargo/bin: links to its tools.
COPY toolchain/ /usr/local/rustup/toolchain/
COPY cargo/ /usr/local/cargo/
RUN cargo --version && rustc --version
