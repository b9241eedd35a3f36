#!/usr/bin/env bash
# Runs a benchmark command with its signing keys in a SoftHSM2 token made for the run (the
# benchmarks' keys come from sigstack_bench_support::bench_signer, which reads
# SIGSTACK_BENCH_PKCS11), so HSM and file-key figures come from the same machine and code.
#
#   scripts/bench-softhsm.sh target/release/fulcio-loadgen --seconds 10
#   scripts/bench-softhsm.sh target/release/rekor-loadgen --seconds 10
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
module=$(bash scripts/softhsm.sh)
dir=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-bench-softhsm.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF="$dir/softhsm2.conf"
printf '1234\n' >"$dir/pin"
softhsm2-util --init-token --free --label sigstack-bench --pin 1234 --so-pin 5678 >/dev/null
export SIGSTACK_BENCH_PKCS11="pkcs11:token=sigstack-bench?module-path=$module&pin-source=file:$dir/pin"
"$@"
