"""What the native checks of a deployment (scripts/compose/check_compose.py,
scripts/kubernetes/check_kubernetes.py) share: the tally of `ok:`/`FAILED:`/`skipped:` lines
and the closing line, and small helpers for running sigstack's command lines natively."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from free_ports import free_port  # noqa: F401 (re-exported for the checks)


class Tally:
    """Counts and prints the checks of one suite: `<label>: ok: …`, `<label>: FAILED: …` (with
    the detail indented below), `<label>: skipped: …`, and the closing line
    `<label>: N passed, M failed[, K skipped]`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"{self.label}: ok: {what}", flush=True)

    def fail(self, what: str, detail: str = "") -> None:
        self.failed += 1
        print(f"{self.label}: FAILED: {what}", flush=True)
        for line in detail.rstrip().splitlines():
            print(f"    {line}", flush=True)

    def skip(self, what: str) -> None:
        self.skipped += 1
        print(f"{self.label}: skipped: {what}", flush=True)

    def check(self, what: str, cond: bool, detail: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return cond

    def close(self) -> int:
        """Prints the closing line; the exit status: 1 if anything failed."""
        line = f"{self.label}: {self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        print(line, flush=True)
        return 1 if self.failed else 0


_HELP_ENV: dict[tuple[str, ...], set[str] | None] = {}


def help_env_vars(sigstack: str, words: list[str]) -> set[str] | None:
    """The `[env: NAME…]` variables in `sigstack WORDS --help` (cached), or None if it fails."""
    key = (sigstack, *words)
    if key not in _HELP_ENV:
        r = subprocess.run([sigstack, *words, "--help"], check=False, capture_output=True, text=True)
        _HELP_ENV[key] = set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", r.stdout)) if r.returncode == 0 else None
    return _HELP_ENV[key]


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""
