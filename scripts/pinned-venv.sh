# shellcheck shell=bash
# pinned_venv: the one way the test command's scripts install their pinned Python tools. Sourced,
# never run; the caller defines `log MESSAGE`.

# pinned_venv VENV REQS LABEL [pip install options…]
# A venv at VENV holding exactly the pins of the requirements file REQS, then `pip check`ed: made
# once, reused while REQS is unchanged, remade when it changes. REQS's sha256 is stamped in the
# venv last, so an interrupted install is never taken for a finished one. Suites running in
# parallel may ask for the same venv: an exclusive lock beside it makes the second wait for the
# first's install and then reuse it.
pinned_venv() {
    local venv=$1 reqs=$2 label=$3 want lock_fd
    shift 3
    want=$(sha256sum "$reqs" | cut -d' ' -f1)
    if [[ -x "$venv/bin/python" && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]]; then
        return 0
    fi
    mkdir -p "$(dirname "$venv")"
    exec {lock_fd}>"$venv.lock"
    flock "$lock_fd"
    if [[ -x "$venv/bin/python" && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]]; then
        exec {lock_fd}>&-
        return 0
    fi
    log "installing $label (pinned in $(basename "$(dirname "$reqs")")/$(basename "$reqs")) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" -r "$reqs"
    "$venv/bin/pip" check --disable-pip-version-check >/dev/null
    printf '%s' "$want" >"$venv/.requirements.sha256"
    exec {lock_fd}>&-
}
