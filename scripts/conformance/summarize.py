"""Reads the reports of run.sh's schemathesis runs and prints the verdict.

Usage: summarize.py REPORTS_DIR
REPORTS_DIR holds one directory per backend (sqlite, postgres), each holding one directory per
document (rekor, fulcio, fulcio-legacy, tsa) with schemathesis' junit.xml, its console output
(output.txt), its exit status (rc) and the realistic examples' expected and observed statuses
(expectations.jsonl, written by hooks.py). A backend whose stack could not be set up has a
`setup-failed` file instead, saying why.

Unit of counting: one API operation of one document on one backend. It passes when its test
case in the JUnit report has no <failure> and no <error>, and every realistic example of it ran
with its expected status; a skipped operation (schemathesis could not test it) counts as failed.
A document whose run produced no report, a document whose run exited non-zero although no
operation failed, and a backend that could not be set up count as one failure each. Results are
listed on stderr; the only line on stdout is `conformance: N passed, M failed`. Exit status 1
when M > 0.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

BACKENDS = ["sqlite", "postgres"]
DOCS = ["rekor", "fulcio", "fulcio-legacy", "tsa"]


def _ordered(dirs: list[Path], order: list[str]) -> list[Path]:
    return sorted(
        dirs,
        key=lambda d: (order.index(d.name) if d.name in order else len(order), d.name),
    )


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _expectation_problems(doc: Path) -> dict[str, list[str]]:
    """Per operation: the realistic examples that never ran or got another status."""
    expected: dict[str, dict[str, Any]] = {}
    observed: dict[str, list[dict[str, Any]]] = {}
    path = doc / "expectations.jsonl"
    if path.is_file():
        for raw in path.read_text().splitlines():
            entry = json.loads(raw)
            if entry["kind"] == "expected":
                expected[entry["id"]] = entry
            else:
                observed.setdefault(entry["id"], []).append(entry)
    problems: dict[str, list[str]] = {}
    for key, want in expected.items():
        seen = observed.get(key, [])
        expects = " or ".join(map(str, want["status"]))
        what = f"realistic example '{want['what']}' (expects {expects})"
        if not seen:
            problems.setdefault(want["operation"], []).append(f"{what}: never ran")
        for got in seen:
            if not got["ok"]:
                again = " when sent again" if got["replay"] else ""
                problems.setdefault(want["operation"], []).append(
                    f"{what}: got {got['status']}{again}"
                )
    return problems


def _summarize_doc(prefix: str, doc: Path) -> tuple[int, int]:
    passed = failed = 0
    junit = doc / "junit.xml"
    if not junit.is_file():
        _say(f"FAILED {prefix}: schemathesis produced no report; its output:")
        output = doc / "output.txt"
        if output.is_file():
            _say(output.read_text(errors="replace")[-4000:])
        return 0, 1
    expectations = _expectation_problems(doc)
    labels = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        label = case.get("name", "?")
        labels.add(label)
        problems = [p for p in case if p.tag in ("failure", "error", "skipped")]
        unmet = expectations.get(label, [])
        if not problems and not unmet:
            passed += 1
            _say(f"ok     {prefix}: {label}")
            continue
        failed += 1
        _say(f"FAILED {prefix}: {label}")
        for problem in problems:
            text = (problem.text or problem.get("message") or "").strip()
            _say(f"  [{problem.tag}]")
            for line in text.splitlines():
                _say(f"    {line}")
        for line in unmet:
            _say(f"  [expected status] {line}")
    for label in sorted(set(expectations) - labels):
        failed += 1
        _say(f"FAILED {prefix}: {label} (not in the report)")
        for line in expectations[label]:
            _say(f"  [expected status] {line}")
    rc_file = doc / "rc"
    rc = rc_file.read_text().strip() if rc_file.is_file() else "?"
    if failed == 0 and rc != "0":
        failed += 1
        _say(
            f"FAILED {prefix}: schemathesis exited {rc} though no operation failed; its output:"
        )
        _say((doc / "output.txt").read_text(errors="replace")[-4000:])
    return passed, failed


def main() -> int:
    reports = Path(sys.argv[1])
    passed = failed = 0
    backends = _ordered([d for d in reports.iterdir() if d.is_dir()], BACKENDS)
    for backend in backends:
        setup = backend / "setup-failed"
        if setup.is_file():
            failed += 1
            _say(f"FAILED {backend.name}: the stack could not be set up:")
            for line in setup.read_text(errors="replace").splitlines():
                _say(f"    {line}")
            continue
        for doc in _ordered([d for d in backend.iterdir() if d.is_dir()], DOCS):
            p, f = _summarize_doc(f"{backend.name}/{doc.name}", doc)
            passed += p
            failed += f
    if not backends:
        failed += 1
        _say("FAILED: no backend ran")
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
