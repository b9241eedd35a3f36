# shellcheck shell=bash
# Scaffolding shared by the interop suites that start an OIDC issuer, the CT log and the CA
# (fulcio.sh, fulcio_js.sh): counters, logging, the exit trap that stops every server, shows
# their logs on failure, removes the work directory and prints the suite's closing line, and the
# require/check helpers. Sourced, never run: set SUITE_NAME (the closing line's label, one word,
# e.g. "fulcio-interop") and LOG_NAME (the log prefix) first.

passed=0
failed=0
summary_printed=0
WORK=""
ISSUER_PID=""
CT_PID=""
FULCIO_PID=""

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

stop_pid() { # pid: TERM, then KILL after 10 s; never fails
    local pid=$1 i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_pid "$FULCIO_PID"
    stop_pid "$CT_PID"
    stop_pid "$ISSUER_PID"
    if [[ $failed -gt 0 || $rc -ne 0 ]] && [[ -n "$WORK" ]]; then
        for f in "$WORK"/*.log; do
            [[ -s "$f" ]] || continue
            log "--- last lines of ${f#"$WORK"/}"
            tail -n 20 "$f" >&2
        done
    fi
    if [[ -n "$WORK" ]]; then
        if [[ "${KEEP_INTEROP_DIR:-}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    if [[ $summary_printed -eq 0 ]]; then
        printf '%s: %d passed, %d failed\n' "$SUITE_NAME" "$passed" $((failed > 0 ? failed : 1))
        [[ $rc -ne 0 ]] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A check that the rest depends on: on failure, count it and stop.
require() { # description command...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        log "ok: $what"
    else
        failed=$((failed + 1))
        log "FAILED: $what"
        exit 1
    fi
}

# An independent check: on failure, count it and go on.
check() { # description command...
    local what=$1 t0=$SECONDS
    shift
    if "$@"; then
        passed=$((passed + 1))
        log "ok ($((SECONDS - t0))s): $what"
    else
        failed=$((failed + 1))
        log "FAILED: $what"
    fi
}
