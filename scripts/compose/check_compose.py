"""Checks docker-compose.yml without a Docker engine (run by scripts/check-compose.sh).

1. static: the file, interpolated with its defaults, validates against the Compose
   Specification JSON schema (scripts/compose/compose-spec.json, vendored and pinned), plus
   the rules this project holds its compose file to (published ports on 127.0.0.1 only,
   health checks, one-shots, depends_on targets, declared volumes, known variables);
2. smoke: every service's command line runs natively against a fresh PostgreSQL database,
   with its volumes mapped to temporary directories and the service names and ports mapped
   to free loopback ports, in depends_on order. One-shots must exit 0; long-running
   services must pass their own compose health check; a few reads check the wiring; then
   every service is stopped with its stop_signal and must exit cleanly; finally `init`
   runs again and must change nothing.

Prints `ok:`/`FAILED:`/`skipped:` lines and ends with
`compose-check: N passed, M failed[, K skipped]`; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jsonschema
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from native_check import Tally, free_port, help_env_vars, tail

OUR_IMAGE_PREFIX = "${SIGSTACK_IMAGE"

TALLY = Tally("compose-check")
ok, fail, skip, check = TALLY.ok, TALLY.fail, TALLY.skip, TALLY.check


# ---- interpolation (Compose's rules: $$, $NAME, ${NAME}, ${NAME:-x}, -, :?, ?, :+, +, nested) --

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand(text: str, i: int, env: dict[str, str], stop: str | None) -> tuple[str, int]:
    """Expands `text` from `i` up to `stop` (a closing brace) or the end; returns the text and
    the index after it."""
    out = []
    while i < len(text):
        c = text[i]
        if stop and c == stop:
            return "".join(out), i
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            m = _NAME.match(text, i + 2)
            if not m:
                raise ValueError(f"invalid interpolation at {text[i:]!r}")
            name, j = m.group(), m.end()
            op = ""
            for candidate in (":-", ":?", ":+", "-", "?", "+"):
                if text.startswith(candidate, j):
                    op, j = candidate, j + len(candidate)
                    break
            arg, j = _expand(text, j, env, "}") if op else ("", j)
            if text[j : j + 1] != "}":
                raise ValueError(f"unterminated ${{{name} in {text!r}")
            out.append(_apply(name, op, arg, env))
            i = j + 1
        else:
            m = _NAME.match(text, i + 1)
            if m:
                out.append(env.get(m.group(), ""))
                i = m.end()
            else:
                out.append("$")
                i += 1
    if stop:
        raise ValueError(f"unterminated expression in {text!r}")
    return "".join(out), i


def _apply(name: str, op: str, arg: str, env: dict[str, str]) -> str:
    val = env.get(name)
    if op in (":-", "-"):
        use_default = val is None or (op == ":-" and val == "")
        return arg if use_default else val
    if op in (":?", "?"):
        if val is None or (op == ":?" and val == ""):
            raise ValueError(f"required variable {name} is not set: {arg}")
        return val
    if op in (":+", "+"):
        return arg if val else ""
    return val or ""


def interpolate(value, env: dict[str, str]):
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value
    return _expand(value, 0, env, None)[0]


def defaults_by_variable(value, found: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Every `${NAME:-default}` default in the file, by variable (nested ones too)."""
    found = {} if found is None else found
    if isinstance(value, dict):
        for v in value.values():
            defaults_by_variable(v, found)
    elif isinstance(value, list):
        for v in value:
            defaults_by_variable(v, found)
    elif isinstance(value, str):
        for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-", value):
            # The default runs to the matching brace.
            depth, j = 1, m.end()
            while j < len(value) and depth:
                if value.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= value[j] == "}"
                j += 1
            found.setdefault(m.group(1), set()).add(value[m.end() : j - 1])
    return found


# ---- static checks ---------------------------------------------------------------------------


def uses_our_image(raw_service: dict) -> bool:
    return str(raw_service.get("image", "")).startswith(OUR_IMAGE_PREFIX)


def is_one_shot(svc: dict) -> bool:
    return str(svc.get("restart", "")) == "no"


def env_of(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}




def subcommand_words(command: list[str]) -> list[str]:
    """The subcommand path of a command line: its leading words up to the first flag."""
    words = []
    for w in command:
        if w.startswith("-"):
            break
        words.append(w)
    return words


def static_checks(path: Path, schema_path: Path, sigstack: str, init_script: Path) -> dict:
    raw = yaml.safe_load(path.read_text())
    try:
        doc = interpolate(raw, {})
        ok("interpolates with every variable unset (defaults only)")
    except ValueError as e:
        fail("interpolates with every variable unset", str(e))
        doc = raw
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    check(
        f"validates against the Compose Specification schema ({schema_path.name})",
        not errors,
        "\n".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:20]),
    )

    services: dict = doc.get("services", {})
    raw_services: dict = raw.get("services", {})
    declared_volumes = set((doc.get("volumes") or {}).keys())

    # Ports and public URLs are set in one place: a variable's default is the same everywhere.
    several = {k: sorted(v) for k, v in defaults_by_variable(raw).items() if len(v) > 1}
    check("every variable has one default throughout the file", not several, repr(several))
    # The development issuer is opt-in, and nothing outside its profile needs it.
    profiled = {n for n, svc in services.items() if svc.get("profiles")}
    if "dev-issuer" in services:
        check("dev-issuer: starts only with `--profile dev`", services["dev-issuer"].get("profiles") == ["dev"])
    for name, svc in services.items():
        if not svc.get("profiles"):
            needs = [d for d in (svc.get("depends_on") or {}) if d in profiled]
            check(f"{name}: depends on no service behind a profile", not needs, f"depends on {needs}")
    if "init" in services:
        issuer = env_of(services["init"]).get("SIGSTACK_INIT_OIDC_ISSUER_URL", "")
        check(
            "init: trusts no issuer by default (the operator names one)",
            issuer == "",
            f"SIGSTACK_INIT_OIDC_ISSUER_URL defaults to {issuer!r}",
        )

    for name, svc in services.items():
        ours = uses_our_image(raw_services[name])
        # published ports: loopback only
        for p in svc.get("ports") or []:
            spec = p if isinstance(p, str) else f"{p.get('host_ip', '')}:{p.get('published')}:{p.get('target')}"
            check(f"{name}: port {spec!r} is published on 127.0.0.1 only", spec.startswith("127.0.0.1:"))
        # depends_on targets and conditions
        for dep, cond in (svc.get("depends_on") or {}).items():
            if dep not in services:
                fail(f"{name}: depends_on {dep}, which is no service")
                continue
            c = cond.get("condition", "service_started") if isinstance(cond, dict) else "service_started"
            want = "service_completed_successfully" if is_one_shot(services[dep]) else "service_healthy"
            check(f"{name}: waits for {dep} with {want}", c == want, f"condition is {c}")
        # volumes declared
        for v in svc.get("volumes") or []:
            src = v.split(":", 1)[0] if isinstance(v, str) else v.get("source", "")
            if src and not src.startswith((".", "/", "~")):
                check(f"{name}: volume {src!r} is declared", src in declared_volumes)
        # health checks and restart policies
        if is_one_shot(svc):
            ok(f"{name}: one-shot (restart: \"no\")")
        else:
            hc = svc.get("healthcheck") or {}
            check(
                f"{name}: has a health check and a restart policy",
                bool(hc.get("test")) and not hc.get("disable") and svc.get("restart") in ("always", "unless-stopped", "on-failure"),
                f"healthcheck={hc!r} restart={svc.get('restart')!r}",
            )
        if not ours:
            continue
        # environment variables: those of the subcommand's --help (or the init script's knobs)
        env = env_of(svc)
        if svc.get("entrypoint"):
            text = init_script.read_text()
            unknown = [k for k in env if k not in text]
            check(f"{name}: every variable is a knob of {init_script.name}", not unknown, f"unknown: {unknown}")
            continue
        words = subcommand_words(list(svc.get("command") or []))
        known = help_env_vars(sigstack, words)
        if known is None:
            skip(f"{name}: `sigstack {' '.join(words)}` is not in this binary yet")
            continue
        unknown = [k for k in env if k.startswith("SIGSTACK_") and k not in known]
        check(
            f"{name}: every SIGSTACK_* variable appears in `sigstack {' '.join(words)} --help`",
            not unknown,
            f"unknown: {unknown}",
        )
    return {"raw": raw, "doc": doc}


# ---- the native smoke run --------------------------------------------------------------------




def topo_order(services: dict) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str, stack: tuple = ()) -> None:
        if n in seen:
            return
        if n in stack:
            raise ValueError(f"depends_on cycle through {n}")
        for d in services[n].get("depends_on") or {}:
            visit(d, stack + (n,))
        seen.add(n)
        order.append(n)

    for n in services:
        visit(n)
    return order


class Smoke:
    def __init__(self, doc: dict, raw: dict, args):
        self.doc = doc
        self.raw = raw
        self.args = args
        self.work = Path(args.work)
        self.bin_dir = self.work / "bin"
        self.logs = self.work / "logs"
        self.procs: dict[str, subprocess.Popen] = {}
        self.services: dict = doc["services"]
        self.ports: dict[str, tuple[int, int]] = {}  # name -> (container port, host port)
        self.absent: set[str] = set()

    # -- setup
    def prepare(self) -> None:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        os.symlink(self.args.sigstack, self.bin_dir / "sigstack")
        # The image installs init.sh as an executable; here run it with sh, as the image would.
        wrapper = self.bin_dir / "sigstack-compose-init"
        wrapper.write_text(f'#!/bin/sh\nexec sh "{self.args.init_script}" "$@"\n')
        wrapper.chmod(0o755)
        for vol in (self.doc.get("volumes") or {}):
            d = self.work / "volumes" / vol
            d.mkdir(parents=True)
            d.chmod(0o700)
        # The host ports are those the file publishes (the smoke run sets every port
        # variable to a free port, so overrides are what is tested).
        for name, svc in self.services.items():
            if not uses_our_image(self.raw["services"][name]):
                continue
            for p in svc.get("ports") or []:
                _host_ip, hp, cp = str(p).split(":")
                self.ports[name] = (int(cp), int(hp))

    def rewrite(self, name: str, value: str) -> str:
        """A container-side string as the host sees it."""
        svc = self.services[name]
        value = re.sub(r"postgres://[^@/\s]*@postgres:5432/[A-Za-z0-9_]+", self.args.database_url, value)
        for other, (cp, hp) in self.ports.items():
            value = value.replace(f"{other}:{cp}", f"127.0.0.1:{hp}")
        if name in self.ports:
            cp, hp = self.ports[name]
            value = value.replace(f"0.0.0.0:{cp}", f"127.0.0.1:{hp}")
            value = value.replace(f"127.0.0.1:{cp}", f"127.0.0.1:{hp}")
        for v in svc.get("volumes") or []:
            src, target = v.split(":")[:2]
            host = str(self.work / "volumes" / src)
            value = re.sub(r"(?<![\w/.:-])" + re.escape(target) + r"(?=/|$|\s|\")", host, value)
        return value

    def argv_env(self, name: str) -> tuple[list[str], dict[str, str]]:
        svc = self.services[name]
        entry = svc.get("entrypoint") or ["sigstack"]
        if isinstance(entry, str):
            entry = entry.split()
        command = svc.get("command") or []
        if isinstance(command, str):
            command = command.split()
        argv = [self.rewrite(name, a) for a in [*entry, *command]]
        env = {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "HOME": str(self.work),
            "RUST_LOG": "info",
            "RUST_BACKTRACE": "0",
        }
        env.update({k: self.rewrite(name, v) for k, v in env_of(svc).items()})
        return argv, env

    # -- running
    def run_one_shot(self, name: str, label: str = "") -> bool:
        argv, env = self.argv_env(name)
        log = self.logs / f"{name}{label}.log"
        with open(log, "w") as out:
            try:
                r = subprocess.run(argv, check=False, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120, cwd=self.work)
                rc = r.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        return check(
            f"{name}{label}: one-shot `{' '.join(self.services[name].get('command') or self.services[name].get('entrypoint'))}` exits 0",
            rc == 0,
            f"exit {rc}; last lines of {log.name}:\n" + tail(log),
        )

    def healthcheck(self, name: str) -> tuple[bool, str]:
        test = self.services[name]["healthcheck"]["test"]
        if isinstance(test, str):
            argv = ["sh", "-c", test]
        elif test[0] == "CMD":
            argv = list(test[1:])
        elif test[0] == "CMD-SHELL":
            argv = ["sh", "-c", test[1]]
        else:
            return False, f"unsupported test {test!r}"
        argv = [self.rewrite(name, a) for a in argv]
        try:
            r = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return False, "timed out"
        return r.returncode == 0, (r.stdout + r.stderr)[-500:]

    def start(self, name: str) -> bool:
        argv, env = self.argv_env(name)
        # The child keeps its own descriptor of the log; ours is closed once it has started.
        with open(self.logs / f"{name}.log", "w") as log:
            self.procs[name] = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.work, start_new_session=True
            )
        deadline = time.monotonic() + self.args.health_timeout
        detail = ""
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                detail = f"exited with {self.procs[name].returncode}"
                break
            healthy, detail = self.healthcheck(name)
            if healthy:
                return check(f"{name}: starts and passes its compose health check", True)
            time.sleep(0.5)
        return check(
            f"{name}: starts and passes its compose health check",
            False,
            f"{detail}\nlast lines of {name}.log:\n" + tail(self.logs / f"{name}.log"),
        )

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            sig = getattr(signal, str(self.services[name].get("stop_signal", "SIGTERM")))
            if name in self.absent:  # its start already failed
                if p.poll() is None:
                    p.kill()
                    p.wait()
                continue
            if p.poll() is not None:
                fail(f"{name}: still running at the end", f"exited early with {p.returncode}")
                continue
            p.send_signal(sig)
            try:
                rc = p.wait(timeout=30)
                check(f"{name}: stops cleanly on {sig.name} (exit 0)", rc == 0, f"exit {rc}\n" + tail(self.logs / f"{name}.log"))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                fail(f"{name}: stops within 30 s of {sig.name}")
        self.procs.clear()

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name][1]}{path}"

    def get(self, name: str, path: str) -> bytes:
        with urllib.request.urlopen(self.url(name, path), timeout=10) as r:
            return r.read()

    # -- the wiring, checked through the running services
    def wiring(self) -> None:
        vol = self.work / "volumes"
        running = set(self.procs) - self.absent

        def attempt(what: str, fn) -> None:
            try:
                cond, detail = fn()
                check(what, cond, detail)
            except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                fail(what, repr(e))

        def pem_ders(path: Path) -> list[str]:
            blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END", path.read_text(), re.DOTALL)
            return [base64.b64encode(base64.b64decode("".join(b.split()))).decode() for b in blocks]

        if "init" not in self.absent:
            def keys_encrypted():
                keys = [f for f in (vol / "keys").glob("*.pem") if "PRIVATE KEY" in f.read_text()]
                keys += [f for f in (vol / "tuf-root-key").glob("*.pem") if "PRIVATE KEY" in f.read_text()]
                plain = [f.name for f in keys if "ENCRYPTED PRIVATE KEY" not in f.read_text()]
                return len(keys) >= 7 and not plain, f"{len(keys)} keys; plaintext: {plain}"
            attempt("init made every private key encrypted under SIGSTACK_KEY_PASSWORD", keys_encrypted)
        if "ctlog" in running:
            def ct_roots():
                roots = json.loads(self.get("ctlog", "/ct/v1/get-roots"))["certificates"]
                want = pem_ders(vol / "keys" / "fulcio-chain.pem")
                return all(w in roots for w in want), f"roots {roots} lack the Fulcio root"
            attempt("ctlog accepts chains ending in the CA root that init created", ct_roots)
        if "fulcio" in running:
            def fulcio_bundle():
                body = self.get("fulcio", "/api/v2/trustBundle").decode()
                want = pem_ders(vol / "keys" / "fulcio-chain.pem")
                flat = body.replace("\\n", "").replace("\n", "")
                return all(w in flat for w in want), "trust bundle lacks the CA root"
            attempt("fulcio serves the CA chain that init created", fulcio_bundle)

            def fulcio_issuers():
                body = self.get("fulcio", "/api/v2/configuration").decode()
                issuer = self.rewrite("init", env_of(self.services["init"])["SIGSTACK_INIT_OIDC_ISSUER_URL"])
                return issuer in body, f"{issuer} not in {body[:300]}"
            attempt("fulcio is configured with the issuer that init wrote", fulcio_issuers)
        if "rekor" in running:
            def rekor_log():
                info = json.loads(self.get("rekor", "/api/v1/log"))
                return "treeSize" in info, repr(info)[:300]
            attempt("rekor answers /api/v1/log from PostgreSQL", rekor_log)
        if "tsa" in running:
            def tsa_chain():
                served = self.get("tsa", "/api/v1/timestamp/certchain").decode()
                want = pem_ders(vol / "keys" / "tsa-chain.pem")
                flat = served.replace("\n", "")
                return all(w in flat for w in want), "served chain differs from the one init created"
            attempt("tsa serves the chain that init created", tsa_chain)
        if {"rekor", "tuf"} <= running and "init" not in self.absent:
            self.check_published_urls(SMOKE_REKOR_PUBLIC_URL, "overridden ports and host")
        if "tuf" in running:
            def tuf_meta():
                ts = json.loads(self.get("tuf", "/timestamp.json"))
                root = json.loads(self.get("tuf", "/root.json"))
                return ts["signed"]["_type"] == "timestamp" and root["signed"]["_type"] == "root", ""
            attempt("tuf serves the repository that init created", tuf_meta)

    def tuf_target(self, name: str) -> dict:
        """A target as TUF clients fetch it from the running repository."""
        meta = json.loads(self.get("tuf", "/timestamp.json"))["signed"]["meta"]
        snapshot = json.loads(self.get("tuf", f"/{meta['snapshot.json']['version']}.snapshot.json"))
        version = snapshot["signed"]["meta"]["targets.json"]["version"]
        targets = json.loads(self.get("tuf", f"/{version}.targets.json"))["signed"]["targets"]
        digest = targets[name]["hashes"]["sha256"]
        return json.loads(self.get("tuf", f"/targets/{digest}.{name}"))

    def check_published_urls(self, rekor_url: str, case: str) -> None:
        """The trust files served through TUF name exactly the public URLs `init` was given,
        Rekor's being `rekor_url`, and Rekor v2 signs with the origin (the host of the first
        public URL, SMOKE_REKOR_PUBLIC_URL, followed by the active v2 log's path after a v2 key
        rotation) and log ID that trusted_root.json publishes."""
        init_env = env_of(self.services["init"])

        def trust_files_agree():
            sc = self.tuf_target("signing_config.v0.2.json")
            tr = self.tuf_target("trusted_root.json")
            url = {k: init_env[f"SIGSTACK_{k}_PUBLIC_URL"] for k in ("FULCIO", "CTLOG", "REKOR", "TSA")}
            pairs = [
                ("signing_config caUrls", [u["url"] for u in sc["caUrls"]], url["FULCIO"]),
                ("signing_config rekorTlogUrls", [u["url"] for u in sc["rekorTlogUrls"]], url["REKOR"]),
                ("signing_config tsaUrls", [u["url"] for u in sc["tsaUrls"]], url["TSA"]),
                # Current entries only: a key retired before a move keeps the URL it had.
                ("trusted_root tlogs", [t["baseUrl"] for t in tr["tlogs"] if "end" not in t["publicKey"]["validFor"]], url["REKOR"]),
                ("trusted_root ctlogs", [t["baseUrl"] for t in tr["ctlogs"] if "end" not in t["publicKey"]["validFor"]], url["CTLOG"]),
                ("trusted_root certificateAuthorities", [c["uri"] for c in tr["certificateAuthorities"] if "end" not in c["validFor"]], url["FULCIO"]),
                ("trusted_root timestampAuthorities", [c["uri"] for c in tr["timestampAuthorities"] if "end" not in c["validFor"]], url["TSA"]),
            ]
            wrong = [f"{what}: {got} (want {want}…)" for what, got, want in pairs if not got or any(not g.startswith(want) for g in got)]
            fine = not wrong and SMOKE_PUBLIC_HOST in url["FULCIO"] and url["REKOR"] == rekor_url
            return fine, "\n".join(wrong) or repr(url)

        def v2_origin_agrees():
            # The active v2 log: the current Ed25519 entry, at its own path below Rekor's public
            # URL after a rotation (the service serves that path at its root's).
            current = [
                t["baseUrl"]
                for t in self.tuf_target("trusted_root.json")["tlogs"]
                if t["publicKey"]["keyDetails"] == "PKIX_ED25519" and "end" not in t["publicKey"]["validFor"]
            ]
            base = rekor_url.rstrip("/")
            path = current[0][len(base):] if len(current) == 1 and current[0].startswith(base) else ""
            note = self.get("rekor", path + "/api/v2/checkpoint").decode()
            origin = note.split("\n", 1)[0]
            host = f"{urllib.parse.urlsplit(SMOKE_REKOR_PUBLIC_URL).hostname}{path}"
            sigs = [line for line in note.split("\n") if line.startswith("\u2014 ")]
            hints = {base64.b64decode(line.split(" ")[2])[:4] for line in sigs if line.split(" ")[1] == origin}
            ids = set()
            for t in self.tuf_target("trusted_root.json")["tlogs"]:
                if t["publicKey"]["keyDetails"] == "PKIX_ED25519":
                    raw = base64.b64decode(t["publicKey"]["rawBytes"])[-32:]
                    log_id = base64.b64decode(t["logId"]["keyId"])
                    ids.add((log_id == hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest(), log_id[:4]))
            matched = any(ok_id and hint in hints for ok_id, hint in ids)
            return len(current) == 1 and origin == host and matched, f"origin {origin!r} (want {host!r}); trusted_root v2 logs {ids}; current {current}; checkpoint key hints {hints}"

        for what, fn in [
            (f"the trust files publish exactly the public URLs the services were given ({case})", trust_files_agree),
            (f"Rekor v2 signs with the origin and log ID trusted_root.json publishes ({case})", v2_origin_agrees),
        ]:
            try:
                cond, detail = fn()
                check(what, cond, detail)
            except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                fail(what, repr(e))

    def change_rekor_url(self) -> None:
        """docs/deploy.md's "Changing a public URL": a new Rekor URL, init run again, Rekor and
        the repository restarted. The trust files move to the new URL; the logs keep their name
        (v2 origin and log ID), so bundles made before still verify."""
        moved = "https://rekor-moved.compose-check.test"
        for name in ("init", "rekor"):
            self.services[name]["environment"]["SIGSTACK_REKOR_PUBLIC_URL"] = moved
        # docs/deploy.md's "Rotating keys" at the same time: every key retired in the keys
        # volume (each log's active shard frozen with its key), made again and published by the
        # init.
        vol = self.work / "volumes"
        r = subprocess.run(
            [
                self.args.sigstack, "rotate", "--keys-dir", str(vol / "keys"),
                "--rekor-shards", str(vol / "data" / "rekor" / "shards.json"),
                "--ctlog-shards", str(vol / "data" / "ctlog" / "shards.json"), "all",
            ],
            check=False, capture_output=True, text=True, timeout=60,
        )
        check(
            "`sigstack rotate --keys-dir /keys --rekor-shards … --ctlog-shards … all` retires every key, freezing each log's shard",
            r.returncode == 0 and all(s in r.stdout for s in ("froze Rekor v1 shard", "froze Rekor v2 log 1", "froze CT log shard 1")),
            r.stdout + r.stderr,
        )
        if not self.run_one_shot("init", " (Rekor's public URL changed, every key rotated)"):
            return
        if self.start("rekor") and self.start("tuf"):
            self.check_published_urls(moved, "after Rekor's public URL changed")

            def rotated():
                tr = self.tuf_target("trusted_root.json")
                closed = {
                    k: [bool(i["validFor"].get("end")) for i in tr[k]] for k in ("certificateAuthorities", "timestampAuthorities")
                }
                for k in ("tlogs", "ctlogs"):
                    closed[k] = [bool(t["publicKey"]["validFor"].get("end")) for t in tr[k]]
                want = {
                    "certificateAuthorities": [False, True],
                    "timestampAuthorities": [False, True],
                    "tlogs": [False, False, True, True],
                    "ctlogs": [False, True],
                }
                return {k: sorted(v) for k, v in closed.items()} == want, repr(closed)
            what = "trusted_root.json lists the old CA, TSA, CT log, Rekor v1 and v2 keys (closed) and the new ones"
            try:
                cond, detail = rotated()
                check(what, cond, detail)
            except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                fail(what, repr(e))
        # The CT log serves its frozen shard and the new one; Fulcio submits to the new one.
        if self.start("ctlog"):
            def ct_shards():
                frozen = json.loads(self.get("ctlog", "/ct/v1/get-sth"))
                active = json.loads(self.get("ctlog", "/shards/2/ct/v1/get-sth"))
                try:
                    urllib.request.urlopen(
                        urllib.request.Request(self.url("ctlog", "/ct/v1/add-chain"), data=b'{"chain": []}'), timeout=10
                    )
                    refused = None
                except urllib.error.HTTPError as e:
                    refused = (e.code, b"frozen" in e.read())
                return "tree_size" in frozen and "tree_size" in active and refused == (403, True), f"{frozen} {active} {refused}"
            try:
                cond, detail = ct_shards()
                check("ctlog serves the frozen shard read-only (403 to writes) and the new one at /shards/2", cond, detail)
            except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                fail("ctlog serves the frozen shard read-only (403 to writes) and the new one at /shards/2", repr(e))
            if self.start("fulcio"):
                log = (self.logs / "fulcio.log").read_text()
                check("fulcio submits to the CT log's active shard (/shards/2)", "/shards/2" in log, log[-1500:])
        self.stop_all()

    def init_refuses_without_an_issuer(self) -> None:
        for variable, init_variable in [
            ("SIGSTACK_OIDC_ISSUER_URL", "SIGSTACK_INIT_OIDC_ISSUER_URL"),
            ("SIGSTACK_KEY_PASSWORD", "SIGSTACK_KEY_PASSWORD"),
        ]:
            argv, env = self.argv_env("init")
            env[init_variable] = ""
            r = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=60, cwd=self.work)
            written = [str(f) for f in (self.work / "volumes").rglob("*") if f.is_file()]
            check(
                f"init: without {variable} refuses, says so and writes nothing",
                r.returncode != 0 and variable in r.stderr and not written,
                f"exit {r.returncode}; wrote {written}\n{r.stdout}{r.stderr}",
            )

    def volume_digest(self) -> dict[str, str]:
        out = {}
        for f in sorted((self.work / "volumes").rglob("*")):
            if f.is_file() and "/data/tuf/" not in str(f) and "/data/rekor/" not in str(f):
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        return out

    def run(self) -> None:
        self.prepare()
        ours = [n for n in topo_order(self.services) if uses_our_image(self.raw["services"][n])]
        others = [n for n in self.services if n not in ours]
        for n in others:
            ok(f"{n}: not our image; the host's PostgreSQL stands in for it")
        if "init" in ours:
            self.init_refuses_without_an_issuer()
        for name in ours:
            svc = self.services[name]
            words = subcommand_words(list(svc.get("command") or []))
            if not svc.get("entrypoint") and help_env_vars(self.args.sigstack, words) is None:
                skip(f"{name}: `sigstack {' '.join(words)}` is not in this binary yet; not started")
                self.absent.add(name)
                continue
            missing = [d for d in (svc.get("depends_on") or {}) if d in self.absent]
            if missing:
                skip(f"{name}: not started, it depends on {missing}")
                self.absent.add(name)
                continue
            if is_one_shot(svc):
                if not self.run_one_shot(name):
                    self.absent.add(name)
            elif not self.start(name):
                self.absent.add(name)
        self.wiring()
        self.stop_all()
        if "init" in self.services and "init" not in self.absent:
            before = self.volume_digest()
            if self.run_one_shot("init", " (second run)"):
                after = self.volume_digest()
                changed = [k for k in after if before.get(k) != after[k]] + [k for k in before if k not in after]
                check("init: a second run changes no key, certificate or configuration", not changed, "\n".join(changed))
            if {"rekor", "tuf"} <= set(self.services) - self.absent:
                self.change_rekor_url()


# ---- the Dockerfile and its build context ----------------------------------------------------


def dockerfile_checks(root: Path, skeleton_script: Path, work: Path | None) -> None:
    import fnmatch

    text = (root / "Dockerfile").read_text()
    lines = [l.strip() for l in text.splitlines()]
    froms = [l.split()[1] for l in lines if l.upper().startswith("FROM ")]
    check(
        "Dockerfile: every base image has a pinned tag (no :latest, no bare name)",
        all(":" in f and not f.endswith(":latest") for f in froms),
        f"FROM {froms}",
    )
    runtime = text[text.rindex("\nFROM "):]
    user = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    check(
        "Dockerfile: the runtime stage runs as a fixed non-root user",
        bool(user) and not user[-1].startswith(("root", "0")),
        f"USER {user}",
    )
    check(
        'Dockerfile: ENTRYPOINT ["sigstack"]',
        re.search(r'^ENTRYPOINT \["sigstack"\]', runtime, re.MULTILINE) is not None,
    )
    installs = re.findall(r"apt-get install[^\n]*", text)
    check(
        "Dockerfile: apt-get installs use --no-install-recommends and clean the lists",
        all("--no-install-recommends" in i for i in installs) and text.count("rm -rf /var/lib/apt/lists/*") >= len(installs),
    )
    check(
        "Dockerfile: builds with cargo build --release --locked -p sigstack",
        text.count("cargo build --release --locked -p sigstack") >= 2,
    )
    hadolint = Path(sys.executable).parent / "hadolint"
    if hadolint.exists():
        r = subprocess.run(
            [str(hadolint), "--no-color", "--config", str(root / "scripts/compose/hadolint.yaml"), str(root / "Dockerfile")],
            check=False, capture_output=True, text=True,
        )
        check("Dockerfile: hadolint (scripts/compose/hadolint.yaml) finds nothing", r.returncode == 0, r.stdout + r.stderr)
    else:
        skip("Dockerfile: hadolint is not installed for this platform")
    # Every file the build needs is in the build context (.dockerignore).
    patterns = [
        l.strip() for l in (root / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")
    ]

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        for pat in patterns:
            pat = pat.strip("/")
            for i in range(1, len(parts) + 1):
                prefix = "/".join(parts[:i])
                if fnmatch.fnmatchcase(prefix, pat) or (
                    pat.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], pat[3:])
                ):
                    return True
        return False

    needed = ["Cargo.toml", "Cargo.lock", "scripts/compose/init.sh", "scripts/kubernetes/init.sh", "scripts/compose/cargo-skeleton.sh"]
    needed += [str(p.relative_to(root)) for p in root.glob("migrations/**/*") if p.is_file()]
    members = re.search(r"members\s*=\s*\[([^\]]*)\]", (root / "Cargo.toml").read_text()).group(1)
    for m in re.findall(r'"([^"]+)"', members):
        needed += [f"{m}/Cargo.toml"]
        needed += [str(p.relative_to(root)) for p in (root / m / "src").rglob("*.rs")]
        if (root / m / "README.md").exists():
            needed.append(f"{m}/README.md")
    left_out = [n for n in needed if ignored(n)]
    check(
        f"Dockerfile: .dockerignore keeps the {len(needed)} files the build needs",
        not left_out,
        f"ignored: {left_out[:10]}",
    )
    # The dependency skeleton is a workspace cargo accepts, with the same lock file.
    if work is None:
        return
    out = work / "skeleton"
    r = subprocess.run(["sh", str(skeleton_script), str(root), str(out)], check=False, capture_output=True, text=True)
    if not check("Dockerfile: cargo-skeleton.sh builds the dependency skeleton", r.returncode == 0, r.stderr):
        return
    r = subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform",
         subprocess.run(["rustc", "-vV"], check=False, capture_output=True, text=True).stdout.split("host: ")[1].split()[0]],
        check=False, cwd=out, capture_output=True, text=True,
    )
    check(
        "Dockerfile: cargo accepts the skeleton with the lock file unchanged (--locked)",
        r.returncode == 0,
        r.stderr[-1500:],
    )


def docker_compose_config(compose: Path) -> None:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if not shutil.which(argv[0]):
            continue
        version = subprocess.run([*argv, "version", "--short"], check=False, capture_output=True, text=True)
        if version.returncode != 0:
            continue
        # Compose v1 (Debian 12's docker-compose) predates the file's top-level `name:` and its
        # nested defaults: it is not the tool the file is written for (scripts/check-docker.sh
        # runs v2).
        if not re.match(r"v?[2-9]", version.stdout.strip()):
            skip(f"`{' '.join(argv)} config -q`: Compose {version.stdout.strip()} is v1; the file needs v2")
            return
        r = subprocess.run([*argv, "-f", str(compose), "config", "-q"], check=False, capture_output=True, text=True)
        check(f"`{' '.join(argv)} config -q` accepts the file", r.returncode == 0, r.stderr)
        return
    skip("`docker compose config -q`: no compose plugin or docker-compose on this machine")


# What the smoke run sets, as an operator would in .env: every published port moved, a public
# host, one public URL overridden with a path prefix (a reverse proxy's), the development
# issuer through its profile.
SMOKE_PUBLIC_HOST = "sigstack.compose-check.test"
SMOKE_REKOR_PUBLIC_URL = "https://transparency.compose-check.test/rekor"
SMOKE_PROFILES = {"dev"}


def smoke_document(raw: dict) -> dict:
    env = {name: str(free_port()) for name in defaults_by_variable(raw) if name.endswith("_PORT")}
    env.update(
        SIGSTACK_PUBLIC_HOST=SMOKE_PUBLIC_HOST,
        SIGSTACK_REKOR_PUBLIC_URL=SMOKE_REKOR_PUBLIC_URL,
        SIGSTACK_OIDC_ISSUER_URL="http://dev-issuer:8080",
        SIGSTACK_KEY_PASSWORD="compose check key password",
    )
    print(f"compose-check: smoke run with {' '.join(f'{k}={v}' for k, v in sorted(env.items()))} --profile dev", flush=True)
    doc = interpolate(raw, env)
    doc["services"] = {
        n: svc for n, svc in doc["services"].items() if not svc.get("profiles") or set(svc["profiles"]) & SMOKE_PROFILES
    }
    return doc




def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compose", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--sigstack", required=True)
    ap.add_argument("--init-script", required=True)
    ap.add_argument("--skeleton-script", required=True)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]), help="the repository")
    ap.add_argument("--database-url", help="a fresh, empty database for the smoke run")
    ap.add_argument("--work", help="scratch directory for the smoke run")
    ap.add_argument("--health-timeout", type=float, default=60)
    args = ap.parse_args()
    compose = Path(args.compose).resolve()
    parsed = static_checks(compose, Path(args.schema), args.sigstack, Path(args.init_script))
    docker_compose_config(compose)
    try:
        dockerfile_checks(Path(args.root).resolve(), Path(args.skeleton_script), Path(args.work) if args.work else None)
    except Exception:  # noqa: BLE001 - a bug here must still end in a counted failure
        import traceback

        fail("Dockerfile checks", traceback.format_exc())
    if args.database_url and args.work:
        smoke = Smoke(smoke_document(parsed["raw"]), parsed["raw"], args)
        try:
            smoke.run()
        except Exception:  # noqa: BLE001 - a bug here must still end in a counted failure and a closing line
            import traceback

            fail("smoke run", traceback.format_exc())
        finally:
            smoke.kill_all()
    else:
        skip("smoke run (no --database-url/--work given)")
    return TALLY.close()


if __name__ == "__main__":
    sys.exit(main())
