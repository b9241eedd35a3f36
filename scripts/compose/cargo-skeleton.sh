#!/bin/sh
# Copy the Cargo workspace in SRC to OUT as a dependency-only skeleton: every Cargo.toml and
# Cargo.lock, plus an empty stand-in for each target root (src/lib.rs, src/main.rs,
# src/bin/*.rs, src/bin/*/main.rs, benches/*.rs, tests/*.rs, tests/*/main.rs, examples/*.rs,
# build.rs). Building the skeleton compiles every third-party dependency and nothing of ours,
# so the Dockerfile can cache that layer until a manifest or the lock file changes (the idea
# of cargo-chef, without the tool).
#
#   scripts/compose/cargo-skeleton.sh SRC OUT
#
# Plain POSIX sh: it runs in the rust builder image. scripts/check-compose.sh checks that
# cargo accepts the skeleton (cargo metadata --locked --offline).
set -eu
src=${1:?usage: cargo-skeleton.sh SRC OUT}
out=${2:?usage: cargo-skeleton.sh SRC OUT}
cd "$src"
mkdir -p "$out"
find . -name Cargo.toml -not -path './target/*' -not -path './.cache/*' -not -path './dev/fuzz/*' \
    -not -path '*/node_modules/*' | while read -r manifest; do
    dir=$(dirname "$manifest")
    mkdir -p "$out/$dir"
    cp "$manifest" "$out/$dir/"
    [ ! -f "$dir/Cargo.lock" ] || cp "$dir/Cargo.lock" "$out/$dir/"
    for f in "$dir"/src/lib.rs "$dir"/src/main.rs "$dir"/src/bin/*.rs "$dir"/src/bin/*/main.rs "$dir"/benches/*.rs \
        "$dir"/tests/*.rs "$dir"/tests/*/main.rs "$dir"/examples/*.rs "$dir"/build.rs; do
        [ -f "$f" ] || continue
        mkdir -p "$out/$(dirname "$f")"
        case "$f" in
        */src/lib.rs) : >"$out/$f" ;;
        *) echo 'fn main() {}' >"$out/$f" ;;
        esac
    done
done
