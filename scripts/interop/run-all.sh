#!/usr/bin/env bash
# Runs every interop suite and the API conformance suite against one built binary
# ($SIGSTACK_BIN, default target/debug/sigstack), in two lanes side by side: the suites pick
# free loopback ports and work directories of their own, so they do not share state, and
# most of their time is spent waiting on client start-up, not on the two cores.
#
# Each suite's whole output is printed once its lane is done, in a fixed order, followed by
# one line per suite (status, seconds, its closing line) and the closing line
# `interop: N passed, M failed`, the sum of the suites' own check counts (a suite that exits
# non-zero counts as at least one failure). Exit status 1 if any suite failed.
#
# Knobs: SIGSTACK_BIN; INTEROP_LANES=1 runs everything in one lane, in order (for debugging).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SIGSTACK_BIN="${SIGSTACK_BIN:-$REPO/target/debug/sigstack}"
[[ -x "$SIGSTACK_BIN" ]] || {
    echo "run-all: $SIGSTACK_BIN is not an executable (run cargo test --workspace first)" >&2
    exit 1
}

# Balanced by their last measured times: lane A 220 s, lane B 300 s in a clean-clone run on
# the 2-core machine (2026-12-06, with e2e.sh's and e2e_pkcs11.sh's temporal CT shard phase),
# so ctlog.sh (21 s) and rekor_js.sh (19 s) moved to lane A: about 260 s each.
LANE_A=(
    scripts/interop/fulcio.sh
    scripts/interop/fulcio_js.sh
    scripts/interop/fulcio_oidc_provider.sh
    scripts/interop/rekor.sh
    scripts/conformance/run.sh
    scripts/interop/e2e_encrypted.sh
    scripts/interop/witness.sh
    scripts/interop/pg_failover.sh
    scripts/interop/monitor.sh
    scripts/interop/ctlog.sh
    scripts/interop/rekor_js.sh
)
LANE_B=(
    scripts/interop/e2e.sh
    scripts/check-compose.sh
    scripts/check-kubernetes.sh
    scripts/interop/tuf.sh
    scripts/interop/pg_tls.sh
    scripts/interop/e2e_pkcs11.sh
    scripts/interop/explorer.sh
    scripts/interop/lab_client.sh
)

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Runs the suites given in order; records "<rc> <seconds>" per suite in $OUT/<n>.status.
lane() {
    local suite started rc
    for suite in "$@"; do
        started=$SECONDS
        rc=0
        bash "$REPO/$suite" >"$OUT/$(basename "$suite").log" 2>&1 </dev/null || rc=$?
        echo "$rc $((SECONDS - started))" >"$OUT/$(basename "$suite").status"
    done
}

SECONDS=0
if [[ "${INTEROP_LANES:-2}" == 1 ]]; then
    lane "${LANE_A[@]}" "${LANE_B[@]}"
else
    lane "${LANE_A[@]}" &
    lane_a=$!
    lane "${LANE_B[@]}" &
    lane_b=$!
    wait "$lane_a" "$lane_b"
fi

total_passed=0
total_failed=0
summary=()
for suite in "${LANE_A[@]}" "${LANE_B[@]}"; do
    name=$(basename "$suite")
    printf '\n==> %s\n' "$suite"
    cat "$OUT/$name.log"
    read -r rc seconds <"$OUT/$name.status"
    closing=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$OUT/$name.log" | tail -n 1 || true)
    passed=0
    failed=0
    if [[ $closing =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=${BASH_REMATCH[1]}
        failed=${BASH_REMATCH[2]}
    fi
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("$(printf '%-6s %4ss  %-34s %s' "$([[ $rc -eq 0 ]] && echo ok || echo FAILED)" "$seconds" "$suite" "$closing")")
done
printf '\n==> interop suites (%ss in all, %s lanes)\n' "$SECONDS" "${INTEROP_LANES:-2}"
printf '%s\n' "${summary[@]}"
echo "interop: $total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
