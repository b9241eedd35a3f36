"""Checks deploy/kubernetes without a cluster (run by scripts/check-kubernetes.sh).

1. render: every overlay (base, dev, production) with `kubectl kustomize` where kubectl is
   installed, and with the small renderer beside this file (render.py); both must give the
   same objects.
2. static: every rendered object validates against the Kubernetes OpenAPI schema
   (kubernetes-validate, strict: no unknown fields); every pod meets the "restricted" Pod
   Security Standard plus a read-only root file system, and sets requests and limits; every
   sigstack service's probes point at the endpoints it serves (/healthz for liveness and
   start-up, /readyz for readiness) on the port it listens on; every SIGSTACK_* variable is in
   its subcommand's `--help`; replicas, strategies, PodDisruptionBudgets, Services' ports, the
   default-deny NetworkPolicy; every Secret, ConfigMap and claim a pod names is rendered or is
   one the deployment is documented to make.
3. smoke (the dev overlay): every container of our image runs natively, as a kubelet would run
   it: its command line and environment from the rendered objects, its volumes as
   directories (Secrets and ConfigMaps written from the rendered objects or from what the init
   Job stored through a stand-in API server over HTTPS), Service names mapped to loopback
   ports, the in-cluster PostgreSQL replaced by the host's. Jobs must exit 0; Deployments' pods
   (both replicas where there are two) must pass their start-up, readiness and liveness probes;
   the two Rekor replicas must serve one log; both Fulcio replicas issue certificates logged by
   both CT log replicas; a projected service-account token from the stand-in API server's
   issuer gets a certificate with the Kubernetes identity; the TUF pod serves the trust files;
   the admission policies exported from its state validate against the controllers' CRDs;
   the CT log's and Rekor's keys rotate as docs/kubernetes.md says (the objects edited
   offline, pods restarted: the frozen shards keep serving, the new ones take writes); the
   pkcs11 overlay's TSA pod signs with a key in a SoftHSM2 token named by its Secret;
   every pod stops cleanly on SIGTERM within its
   terminationGracePeriodSeconds; the peak memory of each stays under its limit; the init Job
   run again changes nothing.

Prints `ok:`/`FAILED:`/`skipped:` lines and ends with
`kubernetes-check: N passed, M failed[, K skipped]`; exits 1 if anything failed.
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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import render
from native_check import Tally, free_port, help_env_vars, tail

OVERLAYS = ["base", "dev", "production", "pkcs11"]
KUBE_VERSION = "1.32.0"
SERVICES = {"ctlog": "/healthz", "fulcio": "/healthz", "rekor": "/healthz", "tsa": "/healthz", "tuf": "/healthz"}
# What the deployment makes outside the manifests (docs/kubernetes.md): the init Job in dev,
# the operator in production; and what every namespace has.
EXTERNAL = {
    ("Secret", "sigstack-keys"),
    ("ConfigMap", "sigstack-rekor-shards"),
    ("ConfigMap", "sigstack-ctlog-shards"),
    ("ConfigMap", "sigstack-tuf-seed"),
    ("ConfigMap", "kube-root-ca.crt"),
}
EXTERNAL_PRODUCTION = {("Secret", "sigstack-database"), ("Secret", "sigstack-key-password")}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}

TALLY = Tally("kubernetes-check")
ok, fail, skip, check = TALLY.ok, TALLY.fail, TALLY.skip, TALLY.check


def name_of(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def normalised(obj: dict) -> str:
    """An object as JSON, Secret data decoded (kustomize may wrap long base64)."""
    obj = json.loads(json.dumps(obj))
    if obj["kind"] == "Secret":
        obj["data"] = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    return json.dumps(obj, sort_keys=True)


# ---- 1. rendering ----------------------------------------------------------------------------


def render_all(root: Path) -> dict[str, list[dict]]:
    kubectl = shutil.which("kubectl")
    out = {}
    for overlay in OVERLAYS:
        d = root / "deploy" / "kubernetes" / overlay
        try:
            mine = render.render(d)
            ok(f"{overlay}: the small renderer renders it ({len(mine)} objects)")
        except (render.RenderError, OSError, KeyError, ValueError) as e:
            fail(f"{overlay}: the small renderer renders it", repr(e))
            mine = None
        theirs = None
        if kubectl:
            r = subprocess.run([kubectl, "kustomize", str(d)], check=False, capture_output=True, text=True)
            if check(f"{overlay}: `kubectl kustomize` renders it", r.returncode == 0, r.stderr):
                theirs = [o for o in yaml.safe_load_all(r.stdout) if o]
        else:
            skip(f"{overlay}: `kubectl kustomize` (kubectl is not installed)")
        if mine is not None and theirs is not None:
            a = {render.key(o): normalised(o) for o in mine}
            b = {render.key(o): normalised(o) for o in theirs}
            differ = sorted(str(k) for k in set(a) | set(b) if a.get(k) != b.get(k))
            check(f"{overlay}: the small renderer and `kubectl kustomize` give the same objects", not differ,
                  "differ: " + ", ".join(differ))
        out[overlay] = theirs if theirs is not None else (mine or [])
    return out


# ---- 2. static checks ------------------------------------------------------------------------




def subcommand(c: dict) -> list[str]:
    words = []
    for w in c.get("args") or []:
        if w.startswith("-"):
            break
        words.append(w)
    return words


def ours(c: dict) -> bool:
    return c["image"].split(":")[0].rsplit("/", 1)[-1] == "sigstack"


def env_value(c: dict, name: str) -> str | None:
    for e in c.get("env") or []:
        if e["name"] == name:
            return e.get("value")
    return None


def static_checks(overlay: str, objs: list[dict], sigstack: str, init_scripts: list[Path]) -> None:
    # schema
    bad = []
    for o in objs:
        try:
            kubernetes_validate.validate(o, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            bad.append(f"{name_of(o)}: {'/'.join(map(str, e.path))}: {e.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
            bad.append(f"{name_of(o)}: {e}")
    check(f"{overlay}: all {len(objs)} objects validate against the Kubernetes {KUBE_VERSION} schema (strict)",
          not bad, "\n".join(bad))
    by = {render.key(o): o for o in objs}
    external = EXTERNAL | (EXTERNAL_PRODUCTION if overlay in ("base", "production", "pkcs11") else set())
    if overlay == "pkcs11":
        external |= {("Secret", "sigstack-pkcs11")}
        pkcs11_checks(objs)
    ns = [o for o in objs if o["kind"] == "Namespace"]
    check(f"{overlay}: the namespace enforces the restricted Pod Security Standard",
          bool(ns) and all(n["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted" for n in ns))
    check(f"{overlay}: a default-deny NetworkPolicy (ingress and egress) covers every pod",
          any(o["kind"] == "NetworkPolicy" and o["spec"]["podSelector"] == {} and not o["spec"].get("ingress")
              and not o["spec"].get("egress") and set(o["spec"]["policyTypes"]) == {"Ingress", "Egress"} for o in objs))

    for o in objs:
        for spec in render.pod_specs(o):
            pod_checks(overlay, o, spec, by, external, sigstack, init_scripts)
    # replicas, strategies, budgets, services
    deps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for comp in ("ctlog", "fulcio", "rekor", "tsa"):
        d = deps.get(f"sigstack-{comp}")
        if not check(f"{overlay}: Deployment sigstack-{comp} exists", d is not None):
            continue
        check(f"{overlay}: {comp} runs 2 replicas", d["spec"].get("replicas") == 2, f"replicas {d['spec'].get('replicas')}")
        sel = d["spec"]["selector"]["matchLabels"]
        check(f"{overlay}: {comp} has a PodDisruptionBudget keeping one pod",
              any(p["spec"]["selector"].get("matchLabels") == sel and p["spec"].get("minAvailable") == 1 for p in pdbs))
    t = deps.get("sigstack-tuf")
    if check(f"{overlay}: Deployment sigstack-tuf exists", t is not None):
        check(f"{overlay}: tuf is single-writer: 1 replica, Recreate, its repository on a ReadWriteOnce claim",
              t["spec"].get("replicas") == 1 and t["spec"].get("strategy", {}).get("type") == "Recreate"
              and any(by.get(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]), {}).get("spec", {}).get("accessModes") == ["ReadWriteOnce"]
                      for v in t["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v))
    if overlay in ("production", "pkcs11"):
        ingress_checks(overlay, objs)
    postgres = [c["image"] for o in objs for spec in render.pod_specs(o) for c in spec["containers"] if c["name"] == "postgres"]
    if postgres:
        compose = Path(__file__).resolve().parents[2] / "docker-compose.yml"
        default = re.search(r"\$\{SIGSTACK_POSTGRES_IMAGE:-([^}]+)\}", compose.read_text())
        check(f"{overlay}: PostgreSQL runs the image compose's SIGSTACK_POSTGRES_IMAGE defaults to",
              default is not None and postgres == [default.group(1)], f"{postgres} vs {default and default.group(1)}")
    for s in (o for o in objs if o["kind"] == "Service"):
        targets = [o for o in objs if render.pod_specs(o) and all(
            o["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in s["spec"]["selector"].items())]
        ports = {p["name"] for t in targets for c in render.pod_specs(t)[0]["containers"] for p in c.get("ports", [])}
        missing = [p["targetPort"] for p in s["spec"]["ports"] if p["targetPort"] not in ports]
        check(f"{overlay}: Service {s['metadata']['name']} selects a workload serving its target ports",
              bool(targets) and not missing, f"targets {[name_of(t) for t in targets]}, missing {missing}")


def pkcs11_checks(objs: list[dict]) -> None:
    """Every signing key of every sigstack container is a pkcs11: URI from Secret sigstack-pkcs11,
    whose PIN file the container mounts where the URIs read it."""
    problems, keys = [], 0
    for o in objs:
        for spec in render.pod_specs(o):
            mounts_pin = {v["name"] for v in spec.get("volumes") or []
                          if (v.get("secret") or {}).get("secretName") == "sigstack-pkcs11"
                          and (v["secret"].get("items") or [{}])[0].get("path") == "pin"}
            for c in (spec.get("initContainers") or []) + spec["containers"]:
                if not ours(c):
                    continue
                for e in c.get("env") or []:
                    if not re.fullmatch(r"SIGSTACK_\w*_KEY", e["name"]):
                        continue
                    keys += 1
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
                    if "value" in e or ref.get("name") != "sigstack-pkcs11":
                        problems.append(f"{name_of(o)}/{c['name']}: {e['name']} is not from Secret sigstack-pkcs11")
                    pin = [m for m in c.get("volumeMounts") or [] if m["name"] in mounts_pin]
                    if [m["mountPath"] for m in pin] != ["/run/sigstack/pkcs11"]:
                        problems.append(f"{name_of(o)}/{c['name']}: no PIN file at /run/sigstack/pkcs11/pin")
    check(f"pkcs11: all {keys} signing keys are pkcs11: URIs from Secret sigstack-pkcs11, each container reading the PIN "
          "from /run/sigstack/pkcs11/pin", keys >= 7 and not problems, "\n".join(problems))


def ingress_checks(overlay: str, objs: list[dict]) -> None:
    """Every public URL's host is served over TLS by an Ingress routing it to its Service."""
    urls = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "sigstack-public-urls")["data"]
    services = {o["metadata"]["name"]: {p["name"] for p in o["spec"]["ports"]} for o in objs if o["kind"] == "Service"}
    ingresses = [o for o in objs if o["kind"] == "Ingress"]
    problems = []
    for comp in ("fulcio", "ctlog", "rekor", "tsa", "tuf"):
        url = urllib.parse.urlsplit(urls[f"SIGSTACK_{comp.upper()}_PUBLIC_URL"])
        routes = [p["backend"]["service"] for i in ingresses for r in i["spec"].get("rules", []) if r.get("host") == url.hostname
                  for p in r["http"]["paths"] if p["path"] == "/" and p["pathType"] == "Prefix"]
        tls = any(url.hostname in t.get("hosts", []) and t.get("secretName") for i in ingresses for t in i["spec"].get("tls", []))
        if url.scheme != "https" or not tls:
            problems.append(f"{comp}: {url.geturl()} is not served over TLS")
        if [r["name"] for r in routes] != [f"sigstack-{comp}"] or routes[0]["port"].get("name") not in services.get(routes[0]["name"], ()):
            problems.append(f"{comp}: {url.hostname} routes to {routes}")
    check(f"{overlay}: an Ingress serves every public URL over TLS (Secret sigstack-tls), routed to its Service's port",
          bool(ingresses) and not problems, "\n".join(problems))


def pod_checks(overlay, o, spec, by, external, sigstack, init_scripts) -> None:
    who = f"{overlay}: {name_of(o)}"
    psc = spec.get("securityContext") or {}
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(field)
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"volume {v['name']}: {kinds}")
    containers = (spec.get("initContainers") or []) + spec["containers"]
    for c in containers:
        csc = c.get("securityContext") or {}
        non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if non_root is not True:
            problems.append(f"{c['name']}: runAsNonRoot")
        if uid == 0:
            problems.append(f"{c['name']}: runAsUser 0")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{c['name']}: seccompProfile {seccomp}")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c['name']}: allowPrivilegeEscalation")
        if csc.get("privileged"):
            problems.append(f"{c['name']}: privileged")
        caps = csc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{c['name']}: capabilities {caps}")
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{c['name']}: readOnlyRootFilesystem")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(res.get(part) or {}):
                problems.append(f"{c['name']}: resources.{part} cpu and memory")
    check(f"{who}: restricted Pod Security Standard, read-only root, requests and limits", not problems, "\n".join(problems))

    # references to Secrets, ConfigMaps, claims
    refs = set()
    for v in spec.get("volumes") or []:
        if "secret" in v:
            refs.add(("Secret", v["secret"]["secretName"]))
        if "configMap" in v:
            refs.add(("ConfigMap", v["configMap"]["name"]))
        for source in (v.get("projected") or {}).get("sources") or []:
            for kind, ref in (("Secret", source.get("secret")), ("ConfigMap", source.get("configMap"))):
                if ref and not ref.get("optional"):
                    refs.add((kind, ref["name"]))
        if "persistentVolumeClaim" in v:
            refs.add(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]))
    for c in containers:
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                refs.add(("Secret", vf["secretKeyRef"]["name"]))
            if "configMapKeyRef" in vf:
                refs.add(("ConfigMap", vf["configMapKeyRef"]["name"]))
        for e in c.get("envFrom") or []:
            if "configMapRef" in e:
                refs.add(("ConfigMap", e["configMapRef"]["name"]))
    unknown = sorted(str(r) for r in refs if r not in by and r not in external)
    check(f"{who}: every Secret, ConfigMap and claim it names exists or is made by the deployment", not unknown, str(unknown))

    for c in containers:
        if not ours(c):
            continue
        words = subcommand(c)
        env_names = [e["name"] for e in c.get("env") or []]
        if c.get("command"):
            prog = c["command"][0]
            if prog in ("sigstack-kubernetes-init",):
                text = "\n".join(p.read_text() for p in init_scripts)
                unknown = [n for n in env_names if n not in text and n not in (help_env_vars(sigstack, []) or set())]
                check(f"{who}/{c['name']}: every variable is a knob of the init scripts", not unknown, str(unknown))
            continue
        known = help_env_vars(sigstack, words)
        if known is None:
            fail(f"{who}/{c['name']}: `sigstack {' '.join(words)}` exists")
            continue
        unknown = [n for n in env_names if n.startswith("SIGSTACK_") and n not in known]
        check(f"{who}/{c['name']}: every SIGSTACK_* variable is in `sigstack {' '.join(words)} --help`", not unknown, str(unknown))
        if words and words[0] in SERVICES or words == ["tuf", "serve"]:
            comp = words[0]
            listen = env_value(c, f"SIGSTACK_{comp.upper()}_LISTEN") or ""
            port = int(listen.rsplit(":", 1)[1]) if ":" in listen else None
            named = {p["name"]: p["containerPort"] for p in c.get("ports") or []}

            def probe(kind: str, path: str, c=c, named=named, port=port) -> bool:
                g = (c.get(kind) or {}).get("httpGet") or {}
                p = g.get("port")
                p = named.get(p, p)
                return g.get("path") == path and p == port
            check(f"{who}/{c['name']}: probes /healthz (start-up, liveness) and /readyz (readiness) on its listening port {port}",
                  port is not None and probe("startupProbe", "/healthz") and probe("livenessProbe", "/healthz")
                  and probe("readinessProbe", "/readyz"),
                  json.dumps({k: c.get(k) for k in ("startupProbe", "livenessProbe", "readinessProbe")}))
            metrics = env_value(c, "SIGSTACK_METRICS_LISTEN") or ""
            check(f"{who}/{c['name']}: /metrics on its own port, named metrics",
                  metrics.endswith(":9090") and named.get("metrics") == 9090)


# ---- 3. the smoke run of the dev overlay -----------------------------------------------------


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()






def memory_bytes(q: str) -> int:
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1000, "M": 10**6, "G": 10**9}
    for u, m in units.items():
        if q.endswith(u):
            return int(float(q[: -len(u)]) * m)
    return int(q)


class ApiServer:
    """A stand-in for the API server, over HTTPS with a certificate from the stand-in cluster CA:
    Secrets and ConfigMaps of one namespace, as the init Job uses them (GET by name, POST to
    create, PUT to replace), bearer token required; and, without credentials (the
    system:service-account-issuer-discovery binding), the service-account issuer's discovery
    document and JWKS, shaped as the API server serves them."""

    def __init__(self, namespace: str, token: str, cert: Path, key: Path, jwks: dict):
        import ssl

        self.store: dict[tuple[str, str], dict] = {}
        self.jwks = jwks
        self.issuer = ""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def route(self):
                m = re.fullmatch(rf"/api/v1/namespaces/{namespace}/(secrets|configmaps)(?:/([a-z0-9.-]+))?", self.path)
                if self.headers.get("Authorization") != f"Bearer {token}":
                    self.reply(401, {"kind": "Status", "code": 401})
                    return None
                if not m:
                    self.reply(404, {"kind": "Status", "code": 404, "message": self.path})
                    return None
                return {"secrets": "Secret", "configmaps": "ConfigMap"}[m.group(1)], m.group(2)

            def body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self.reply(200, {
                        "issuer": outer.issuer,
                        "jwks_uri": f"{outer.issuer}/openid/v1/jwks",
                        "response_types_supported": ["id_token"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    })
                    return
                if self.path == "/openid/v1/jwks":
                    self.reply(200, outer.jwks)
                    return
                r = self.route()
                if r:
                    obj = outer.store.get(r)
                    self.reply(200, obj) if obj else self.reply(404, {"kind": "Status", "code": 404})

            def do_POST(self):
                r = self.route()
                if r:
                    obj = self.body()
                    k = (r[0], obj["metadata"]["name"])
                    if obj.get("kind") != r[0]:
                        self.reply(400, {"kind": "Status", "code": 400})
                    elif k in outer.store:
                        self.reply(409, {"kind": "Status", "code": 409})
                    else:
                        outer.store[k] = obj
                        self.reply(201, obj)

            def do_PUT(self):
                r = self.route()
                if r:
                    obj = self.body()
                    if r not in outer.store or obj["metadata"]["name"] != r[1]:
                        self.reply(404, {"kind": "Status", "code": 404})
                    else:
                        outer.store[r] = obj
                        self.reply(200, obj)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


class Pod:
    def __init__(self, name: str, owner: dict, spec: dict):
        self.name = name
        self.owner = owner
        self.spec = spec
        self.ports: dict[int, int] = {}  # container port -> host port
        self.proc: subprocess.Popen | None = None
        self.ready = False


class Smoke:
    def __init__(self, objs: list[dict], args, root: Path):
        self.objs = objs
        self.by = {render.key(o): o for o in objs}
        self.args = args
        self.root = root
        self.work = Path(args.work)
        self.bin = self.work / "bin"
        self.logs = self.work / "logs"
        self.token = "kubernetes-check-token"
        self.api: ApiServer | None = None
        self.pods: list[Pod] = []
        self.rekor_uuid = ""  # an entry made through the first Rekor pod
        self.pkcs11_objs: list[dict] = []  # the pkcs11 overlay, rendered
        self.extra_env: dict[str, str] = {}  # what the image would set (SoftHSM2's configuration)
        self.service_ports: dict[tuple[str, int], int] = {}  # (service, port) -> host port
        self.peak: dict[str, int] = {}  # VmHWM: with an encrypted key, scrypt's 128 MiB at start
        self.now: dict[str, int] = {}  # VmRSS after the checks

    def prepare(self) -> None:
        for d in (self.bin, self.logs, self.work / "sa"):
            d.mkdir(parents=True, exist_ok=True)
        os.symlink(self.args.sigstack, self.bin / "sigstack")
        for prog, script in (("sigstack-compose-init", "scripts/compose/init.sh"),
                             ("sigstack-kubernetes-init", "scripts/kubernetes/init.sh")):
            w = self.bin / prog
            w.write_text(f'#!/bin/sh\nexec sh "{self.root / script}" "$@"\n')
            w.chmod(0o755)
        sa = self.work / "sa"
        (sa / "token").write_text(self.token)
        (sa / "namespace").write_text("sigstack")
        kube_ca = self.work / "kube-root-ca"
        kube_ca.mkdir()
        w = self.work

        def openssl(*a: str) -> bytes:
            return subprocess.run(["openssl", *a], check=True, capture_output=True).stdout
        # The cluster CA (kube-root-ca.crt, the service account's ca.crt), the API server's
        # certificate for 127.0.0.1 (where "kubernetes.default.svc" resolves here), and the
        # service-account token signing key (RSA, RS256, as the API server's).
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(w / "kube-ca.key"), "-out", str(kube_ca / "ca.crt"), "-days", "1",
                "-subj", "/CN=kubernetes-check stand-in cluster CA")
        shutil.copy(kube_ca / "ca.crt", sa / "ca.crt")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(w / "apiserver.key"), "-out", str(w / "apiserver.csr"), "-subj", "/CN=kube-apiserver")
        (w / "apiserver.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                                          "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", str(w / "apiserver.csr"), "-CA", str(kube_ca / "ca.crt"), "-CAkey",
                str(w / "kube-ca.key"), "-CAcreateserial", "-out", str(w / "apiserver.crt"), "-days", "1",
                "-extfile", str(w / "apiserver.ext"))
        openssl("genrsa", "-out", str(w / "sa-signer.pem"), "2048")
        modulus = bytes.fromhex(openssl("rsa", "-in", str(w / "sa-signer.pem"), "-noout", "-modulus").decode().split("=", 1)[1].strip())
        self.sa_kid = hashlib.sha256(modulus).hexdigest()[:16]
        jwks = {"keys": [{"use": "sig", "kty": "RSA", "kid": self.sa_kid, "alg": "RS256", "n": b64u(modulus), "e": "AQAB"}]}
        self.api = ApiServer("sigstack", self.token, w / "apiserver.crt", w / "apiserver.key", jwks)
        # The API server's --service-account-issuer, as the pods reach it.
        self.api.issuer = f"https://127.0.0.1:{self.api.port}"

    # -- the plan: pods, their host ports, the Services' ports
    def plan(self, workloads: list[dict]) -> None:
        for w in workloads:
            spec = render.pod_specs(w)[0]
            n = w["spec"].get("replicas", 1) if w["kind"] == "Deployment" else 1
            for i in range(n):
                pod = Pod(f"{w['metadata']['name']}-{i}", w, spec)
                for c in spec.get("containers", []):
                    for p in c.get("ports") or []:
                        pod.ports[p["containerPort"]] = free_port()
                self.pods.append(pod)
        for s in (o for o in self.objs if o["kind"] == "Service"):
            target = next((p for p in self.pods if all(
                p.owner["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in s["spec"]["selector"].items())), None)
            if not target:
                continue
            named = {pp["name"]: pp["containerPort"] for c in target.spec["containers"] for pp in c.get("ports") or []}
            for sp in s["spec"]["ports"]:
                tp = sp["targetPort"]
                self.service_ports[(s["metadata"]["name"], sp["port"])] = target.ports[named.get(tp, tp)]

    # -- the kubelet's part
    def rewrite(self, pod: Pod, value: str, mounts: list[tuple[str, Path]]) -> str:
        value = re.sub(r"postgres://[^@/\s]*@sigstack-postgres:5432/[A-Za-z0-9_]+", self.args.database_url, value)
        value = re.sub(r"https://kubernetes\.default\.svc(\.cluster\.local)?(:443)?(?![\w.-]|:\d)", self.api.issuer, value)
        for (svc, port), hp in self.service_ports.items():
            value = re.sub(rf"(?<![\w.-]){re.escape(svc)}(\.sigstack(\.svc(\.cluster\.local)?)?)?:{port}(?!\d)", f"127.0.0.1:{hp}", value)
        for cp, hp in pod.ports.items():
            value = re.sub(rf"0\.0\.0\.0:{cp}(?!\d)", f"127.0.0.1:{hp}", value)
        if mounts:  # one pass: a host path (under /tmp) is never taken for a mount path
            hosts = dict(mounts)
            pattern = "|".join(re.escape(m) for m, _ in sorted(mounts, key=lambda m: -len(m[0])))
            value = re.sub(r"(?:(?<![\w/.:-])|(?<=file:))(" + pattern + r")(?=/|$|\s|\"|')", lambda m: str(hosts[m.group(1)]), value)
        return value

    def source(self, kind: str, name: str) -> dict | None:
        return self.api.store.get((kind, name)) or self.by.get((kind, name))

    def files_of(self, obj: dict) -> dict[str, bytes]:
        out = {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
        if obj["kind"] == "Secret":
            out.update({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
            out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
        else:
            out.update({k: v.encode() for k, v in (obj.get("data") or {}).items()})
        return out

    def volumes(self, pod: Pod) -> tuple[dict[str, Path], list[str]]:
        """Each volume of the pod as a directory; and what could not be made."""
        out, missing = {}, []
        base = self.work / "pods" / pod.name / "volumes"
        for v in pod.spec.get("volumes") or []:
            d = base / v["name"]
            if "persistentVolumeClaim" in v:
                d = self.work / "claims" / v["persistentVolumeClaim"]["claimName"]
                d.mkdir(parents=True, exist_ok=True)
            elif "emptyDir" in v:
                d.mkdir(parents=True, exist_ok=True)
            elif "secret" in v or "configMap" in v or "projected" in v:
                if (v.get("configMap") or {}).get("name") == "kube-root-ca.crt":
                    out[v["name"]] = self.work / "kube-root-ca"
                    continue
                sources = (v["projected"].get("sources") or []) if "projected" in v else [v]
                if d.exists():
                    shutil.rmtree(d)
                d.mkdir(parents=True)
                if not all(self.project(pod, source, d, missing) for source in sources):
                    continue
            else:
                missing.append(f"volume {v['name']} of an unsupported type")
                continue
            out[v["name"]] = d
        return out, missing

    def project(self, pod: Pod, source: dict, d: Path, missing: list[str]) -> bool:
        """Writes one Secret or ConfigMap (a volume, or a source of a projected volume) into
        `d` as the kubelet does; an absent optional one writes nothing."""
        kind, ref = ("Secret", source["secret"]) if "secret" in source else ("ConfigMap", source["configMap"])
        name = ref.get("secretName") or ref.get("name")
        obj = self.source(kind, name)
        if obj is None:
            if not ref.get("optional"):
                missing.append(f"{kind} {name}")
            return bool(ref.get("optional"))
        files = self.files_of(obj)
        items = ref.get("items") or [{"key": k, "path": k} for k in files]
        absent = [i["key"] for i in items if i["key"] not in files]
        if absent:
            missing.append(f"{kind} {name} keys {absent}")
            return False
        for i in items:
            data = files[i["key"]]
            if kind == "ConfigMap" and i["key"] in (obj.get("data") or {}):
                data = self.rewrite(pod, data.decode(), []).encode()  # Service names, as DNS resolves them
            (d / i["path"]).parent.mkdir(parents=True, exist_ok=True)
            (d / i["path"]).write_bytes(data)
        return True

    def argv_env(self, pod: Pod, c: dict, vols: dict[str, Path]) -> tuple[list[str], dict[str, str]]:
        mounts = sorted(((m["mountPath"], vols[m["name"]]) for m in c.get("volumeMounts") or []), key=lambda m: -len(m[0]))
        argv = [self.rewrite(pod, a, mounts) for a in (c.get("command") or ["sigstack"]) + (c.get("args") or [])]
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.work / "pods" / pod.name),
               "RUST_BACKTRACE": "0", "KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(self.api.port)}
        if pod.spec.get("automountServiceAccountToken"):
            # Where the kubelet mounts the token, the CA and the namespace.
            env["SIGSTACK_KUBE_SERVICEACCOUNT"] = str(self.work / "sa")
        env.update(self.extra_env)
        for e in c.get("envFrom") or []:
            obj = self.source("ConfigMap", e["configMapRef"]["name"])
            env.update({k: self.rewrite(pod, v, mounts) for k, v in (obj.get("data") or {}).items()})
        for e in c.get("env") or []:
            if "value" in e:
                env[e["name"]] = self.rewrite(pod, e["value"], mounts)
                continue
            vf = e["valueFrom"]
            kind, ref = ("Secret", vf["secretKeyRef"]) if "secretKeyRef" in vf else ("ConfigMap", vf["configMapKeyRef"])
            obj = self.source(kind, ref["name"])
            value = self.files_of(obj).get(ref["key"]) if obj else None
            if value is None and ref.get("optional"):
                continue  # the kubelet leaves the variable unset
            env[e["name"]] = self.rewrite(pod, value.decode(), mounts)
        return argv, env

    def run_to_completion(self, pod: Pod, c: dict, vols, label: str) -> bool:
        argv, env = self.argv_env(pod, c, vols)
        log = self.logs / f"{pod.name}.{c['name']}{label}.log"
        with open(log, "w") as out:
            try:
                rc = subprocess.run(argv, check=False, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=180,
                                    cwd=self.work / "pods" / pod.name).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        return check(f"{pod.name}/{c['name']}{label}: exits 0", rc == 0, f"exit {rc}\n{tail(log)}")

    def probe(self, pod: Pod, c: dict, kind: str) -> tuple[bool, str]:
        p = c.get(kind)
        if not p:
            return True, "none"
        g = p["httpGet"]
        named = {pp["name"]: pp["containerPort"] for pp in c.get("ports") or []}
        port = pod.ports[named.get(g["port"], g["port"])]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{g['path']}", timeout=p.get("timeoutSeconds", 1)) as r:
                return 200 <= r.status < 400, str(r.status)
        except (urllib.error.URLError, OSError) as e:
            return False, repr(e)

    def start(self, pod: Pod) -> bool:
        return self.launch(pod) and (pod.owner["kind"] == "Job" or self.wait_ready(pod))

    def launch(self, pod: Pod) -> bool:
        """Volumes, init containers, then the container: a Job's to completion, a server's
        started (wait_ready probes it)."""
        (self.work / "pods" / pod.name).mkdir(parents=True, exist_ok=True)
        vols, missing = self.volumes(pod)
        if not check(f"{pod.name}: every volume can be made (Secrets and ConfigMaps exist)", not missing, "\n".join(missing)):
            return False
        pod.vols = vols
        pod.digest_before = self.read_only_digest(pod)
        for c in pod.spec.get("initContainers") or []:
            if not self.run_to_completion(pod, c, vols, " (init container)"):
                return False
        c = pod.spec["containers"][0]
        if pod.owner["kind"] == "Job":
            return self.run_to_completion(pod, c, vols, "")
        argv, env = self.argv_env(pod, c, vols)
        with open(self.logs / f"{pod.name}.log", "w") as log:
            pod.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.work / "pods" / pod.name, start_new_session=True)
        return True

    def wait_ready(self, pod: Pod) -> bool:
        c = pod.spec["containers"][0]
        deadline = time.monotonic() + self.args.health_timeout
        detail = ""
        stage = "startupProbe"
        while time.monotonic() < deadline:
            if pod.proc.poll() is not None:
                detail = f"exited with {pod.proc.returncode}"
                break
            good, detail = self.probe(pod, c, stage)
            if good and stage == "startupProbe":
                stage = "readinessProbe"
                continue
            if good:
                live, detail = self.probe(pod, c, "livenessProbe")
                if live:
                    pod.ready = True
                    break
            time.sleep(0.3)
        return check(f"{pod.name}: passes its start-up, readiness and liveness probes", pod.ready,
                     f"{stage}: {detail}\n{tail(self.logs / f'{pod.name}.log')}")

    def read_only_digest(self, pod: Pod) -> dict[str, str]:
        out = {}
        for v in pod.spec.get("volumes") or []:
            if ("secret" in v or "configMap" in v or "projected" in v) and v["name"] in pod.vols:
                for f in sorted(pod.vols[v["name"]].rglob("*")):
                    out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "dir"
        return out

    def sample_memory(self) -> None:
        for pod in self.pods:
            if pod.proc and pod.proc.poll() is None:
                try:
                    status = Path(f"/proc/{pod.proc.pid}/status").read_text()
                    kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
                    self.peak[pod.name] = max(self.peak.get(pod.name, 0), kb * 1024)
                    self.now[pod.name] = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024
                except (OSError, AttributeError):
                    pass

    def url(self, pod: Pod, path: str) -> str:
        return f"http://127.0.0.1:{pod.ports[pod.spec['containers'][0]['ports'][0]['containerPort']]}{path}"

    # -- what the running pods must do together
    def two_rekors_one_log(self, a: Pod, b: Pod) -> None:
        key = self.work / "rekor-check.pem"
        artifact = self.work / "rekor-check.txt"
        artifact.write_text(f"kubernetes-check {time.time()}\n")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True, capture_output=True)
        pub = subprocess.run(["openssl", "ec", "-in", str(key), "-pubout"], check=True, capture_output=True).stdout
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), str(artifact)], check=True, capture_output=True).stdout
        entry = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "signature": {"content": base64.b64encode(sig).decode(), "publicKey": {"content": base64.b64encode(pub).decode()}},
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(artifact.read_bytes()).hexdigest()}}}}
        what = (f"two Rekor replicas serve one log: an entry made through {a.name} is read through {b.name} at once "
                f"(by UUID, by index, its inclusion in the tree it was given, a consistency proof to that tree)")
        def get(path: str) -> dict:
            with urllib.request.urlopen(self.url(b, path), timeout=10) as r:
                return json.loads(r.read())
        try:
            # b reads its tree head now, so that it holds it in memory, older than the write
            get("/api/v1/log")
            req = urllib.request.Request(self.url(a, "/api/v1/log/entries"), data=json.dumps(entry).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                made = json.loads(r.read())
            uuid = self.rekor_uuid = next(iter(made))
            index = made[uuid]["logIndex"]
            size = made[uuid]["verification"]["inclusionProof"]["treeSize"]
            # No retry: the other replica must answer what the first one just handed out
            # (its cached tree head is older; it must look in the database).
            by_uuid = get(f"/api/v1/log/entries/{uuid}")
            by_index = get(f"/api/v1/log/entries?logIndex={index}")
            consistency = get(f"/api/v1/log/proof?firstSize=1&lastSize={size}")
            log_b = get("/api/v1/log")
            with urllib.request.urlopen(self.url(a, "/api/v1/log"), timeout=10) as r:
                log_a = json.loads(r.read())
            read = [next(iter(by_uuid.values())), next(iter(by_index.values()))]
            check(what, all(e["logIndex"] == index and e["verification"]["inclusionProof"]["treeSize"] >= size for e in read)
                  and consistency["rootHash"] == made[uuid]["verification"]["inclusionProof"]["rootHash"]
                  and log_a["rootHash"] == log_b["rootHash"] and int(log_b["treeSize"]) > index,
                  f"made {made}\nread {read}\nconsistency {consistency}\nlogs {log_a} {log_b}")
        except (urllib.error.URLError, OSError, ValueError, KeyError, StopIteration) as e:
            fail(what, repr(e))

    def fulcio_issues(self, issuer: Pod, fulcios: list[Pod], ctlogs: list[Pod], ct_path: str = "", what: str = "") -> None:
        """A certificate from each Fulcio replica for a development-issuer token; each goes to the
        CT log through the Service, and either CT replica serves the same, grown tree (of the
        shard at `ct_path`)."""
        what = what or (f"both Fulcio replicas issue a certificate for a dev-issuer token, logged through the "
                        f"sigstack-ctlog Service; both CT log replicas serve one tree of {len(fulcios)} or more")
        try:
            key = self.work / "fulcio-check.pem"
            subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True, capture_output=True)
            pub = subprocess.run(["openssl", "ec", "-in", str(key), "-pubout"], check=True, capture_output=True).stdout.decode()
            email = "kubernetes-check@example.com"
            chains = []
            for f in fulcios:
                token = subprocess.run([self.args.sigstack, "token", email, "--issuer-url", self.url(issuer, "")],
                                       check=True, capture_output=True, text=True, timeout=30).stdout.strip()
                claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
                challenge = self.work / "challenge"
                challenge.write_text(claims["sub"])
                sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), str(challenge)], check=True, capture_output=True).stdout
                body = {"credentials": {"oidcIdentityToken": token}, "publicKeyRequest": {
                    "publicKey": {"algorithm": "ECDSA", "content": pub}, "proofOfPossession": base64.b64encode(sig).decode()}}
                req = urllib.request.Request(self.url(f, "/api/v2/signingCert"), data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
                with urllib.request.urlopen(req, timeout=30) as r:
                    chains.append(json.loads(r.read())["signedCertificateEmbeddedSct"]["chain"]["certificates"])
            sths = []
            for c in ctlogs:
                with urllib.request.urlopen(self.url(c, f"{ct_path}/ct/v1/get-sth"), timeout=10) as r:
                    sths.append(json.loads(r.read()))
            check(what, len(chains) == len(fulcios) and all(len(ch) >= 2 for ch in chains)
                  and len({(s["tree_size"], s["sha256_root_hash"]) for s in sths}) == 1 and sths[0]["tree_size"] >= len(fulcios),
                  f"chains {[len(ch) for ch in chains]}; STHs {sths}")
        except (urllib.error.URLError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            detail = e.read().decode(errors="replace") if isinstance(e, urllib.error.HTTPError) else ""
            fail(what, f"{e!r} {detail}")

    def restart(self, pod: Pod) -> bool:
        """A rollout restart of one pod: SIGTERM, then its volumes made again from the objects
        as they are now, and its probes."""
        pod.proc.send_signal(signal.SIGTERM)
        pod.proc.wait(timeout=pod.spec.get("terminationGracePeriodSeconds", 30))
        pod.ready = False
        return self.launch(pod) and self.wait_ready(pod)

    def rotate_logs(self, issuer: Pod, fulcio: Pod, ctlog: Pod, rekor: Pod, rekor_uuid: str) -> None:
        """docs/kubernetes.md's rotation of the logs' keys, offline on the objects the init Job
        stored: the keys and the layouts out of the Secret and ConfigMaps, `sigstack rotate
        ctlog rekor-v1 rekor-v2` with each layout beside the retired keys, new keys, the
        objects stored again (Secrets sigstack-ctlog-frozen-keys and sigstack-rekor-frozen-keys
        new); then a CT log, a Fulcio and a Rekor pod restarted (the Services reach the first
        pod of each). The frozen shards keep serving; new certificates and entries go to the new
        ones."""
        what = "the CT log rotates on Kubernetes (docs/kubernetes.md): the new shard at /shards/2 takes Fulcio's certificates"
        try:
            with urllib.request.urlopen(self.url(ctlog, "/ct/v1/get-sth"), timeout=10) as r:
                frozen_before = json.loads(r.read())
            keys = self.work / "rotate" / "keys"
            retired = keys / "retired"
            retired.mkdir(parents=True)
            for name, data in self.files_of(self.api.store[("Secret", "sigstack-keys")]).items():
                (keys / name).write_bytes(data)
            layouts = {log: retired / f"{log}-shards.json" for log in ("ctlog", "rekor")}
            for log, layout in layouts.items():
                layout.write_bytes(self.files_of(self.api.store[("ConfigMap", f"sigstack-{log}-shards")])["shards.json"])
            password = self.files_of(self.by[("Secret", "sigstack-key-password")])["password"].decode()
            env = {"PATH": os.environ["PATH"], "HOME": str(keys.parent), "SIGSTACK_KEY_PASSWORD": password}
            for argv in (["rotate", "--keys-dir", str(keys), "--ctlog-shards", str(layouts["ctlog"]),
                          "--rekor-shards", str(layouts["rekor"]), "ctlog", "rekor-v1", "rekor-v2"],
                         ["tuf", "keygen", str(keys / "ctlog.pem"), "--algorithm", "ecdsa-p256"],
                         ["tuf", "keygen", str(keys / "rekor-v1.pem"), "--algorithm", "ecdsa-p256"],
                         ["tuf", "keygen", str(keys / "rekor-v2.pem"), "--algorithm", "ed25519"]):
                r = subprocess.run([self.args.sigstack, *argv], env=env, capture_output=True, text=True, timeout=60, check=False)
                if r.returncode != 0:
                    return fail(what, f"sigstack {' '.join(argv)}: {r.stdout}{r.stderr}")

            def store(kind: str, name: str, files: list[Path], field: str = "data") -> None:
                self.api.store[(kind, name)] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name},
                                                field: {f.name: base64.b64encode(f.read_bytes()).decode() for f in files}}
            store("Secret", "sigstack-keys", [f for f in keys.iterdir() if f.is_file()])
            for log, stems in (("ctlog", ["ctlog"]), ("rekor", ["rekor-v1", "rekor-v2"])):
                store("Secret", f"sigstack-{log}-frozen-keys", sorted(f for stem in stems for f in retired.glob(f"*-{stem}.pem")))
                layout = keys / log / "shards.json"
                layout.parent.mkdir()
                layout.write_bytes(layouts[log].read_bytes())
                store("ConfigMap", f"sigstack-{log}-shards", [layout], "binaryData")
            if not all(self.restart(p) for p in (ctlog, fulcio, rekor)):
                return fail(what, "a restarted pod is not ready")
            with urllib.request.urlopen(self.url(ctlog, "/ct/v1/get-sth"), timeout=10) as r:
                frozen_after = json.loads(r.read())
            same = lambda sth: (sth["tree_size"], sth["sha256_root_hash"])
            check("after the rotation the frozen CT shard serves the same tree at the CT log's URL", same(frozen_after) == same(frozen_before),
                  f"{frozen_before} -> {frozen_after}")
            self.fulcio_issues(issuer, [fulcio], [ctlog], "/shards/2", what)
            with urllib.request.urlopen(self.url(rekor, "/api/v1/log"), timeout=10) as r:
                info = json.loads(r.read())
            with urllib.request.urlopen(self.url(rekor, f"/api/v1/log/entries/{rekor_uuid}"), timeout=10) as r:
                old_entry = next(iter(json.loads(r.read()).values()))
            check("Rekor v1 rotates on Kubernetes: a new shard under the new key, the frozen one still serving its entries",
                  len(info.get("inactiveShards", [])) == 1 and info["treeID"] != info["inactiveShards"][0]["treeID"]
                  and old_entry["logID"] and old_entry["verification"]["inclusionProof"]["treeSize"] >= 1,
                  f"log {info}\nentry {old_entry}")
            origins = []
            for path in ("/api/v2/checkpoint", "/v2-shards/2/api/v2/checkpoint"):
                with urllib.request.urlopen(self.url(rekor, path), timeout=10) as r:
                    origins.append(r.read().decode().split("\n", 1)[0])
            check("Rekor v2 rotates on Kubernetes: the frozen log keeps its checkpoint, the new one is served at /v2-shards/2",
                  origins[1] == f"{origins[0]}/v2-shards/2", str(origins))
        except (urllib.error.URLError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            fail(what, repr(e))

    def pkcs11_tsa(self) -> None:
        """The pkcs11 overlay's TSA pod on a SoftHSM2 token: its key is the URI from Secret
        sigstack-pkcs11 (the module's path, the PIN file where the pod mounts the same
        Secret's pin), the key made in the token by `sigstack keys generate`, the chain by `ca
        init-tsa` on it. It must pass its probes and grant a timestamp. The one variable set
        here that the image would carry is SoftHSM2's SOFTHSM2_CONF."""
        what = "pkcs11: the TSA pod signs with its key in a SoftHSM2 token, named by Secret sigstack-pkcs11, the PIN from its mounted file"
        module = self.args.softhsm_module
        if not module:
            return skip(f"{what} (SoftHSM2 is not installed: scripts/softhsm.sh)")
        d = self.work / "pkcs11"
        (d / "tokens").mkdir(parents=True)
        conf = d / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
        pin = d / "pin"
        pin.write_text("1234")
        env = {"PATH": os.environ["PATH"], "HOME": str(d), "SOFTHSM2_CONF": str(conf)}
        uri = lambda pin_file: f"pkcs11:token=sigstack;object=tsa-key?module-path={module}&pin-source=file:{pin_file}"
        for argv in (["softhsm2-util", "--init-token", "--free", "--label", "sigstack", "--pin", "1234", "--so-pin", "5678"],
                     [self.args.sigstack, "keys", "generate", uri(pin), "--algorithm", "ecdsa-p256"],
                     [self.args.sigstack, "ca", "init-tsa", "--key", uri(pin), "--chain", str(d / "tsa-chain.pem")]):
            r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
            if r.returncode != 0:
                return fail(what, f"{' '.join(argv)}: {r.stdout}{r.stderr}")
        b64 = lambda b: base64.b64encode(b).decode()
        made = {
            ("Secret", "sigstack-pkcs11"): {"kind": "Secret", "metadata": {"name": "sigstack-pkcs11"}, "data": {
                "pin": b64(pin.read_bytes()), "tsa-key": b64(uri("/run/sigstack/pkcs11/pin").encode())}},
            ("Secret", "sigstack-keys"): {"kind": "Secret", "metadata": {"name": "sigstack-keys"},
                                          "data": {"tsa-chain.pem": b64((d / "tsa-chain.pem").read_bytes())}},
            ("Secret", "sigstack-key-password"): {"kind": "Secret", "metadata": {"name": "sigstack-key-password"},
                                                  "data": {"password": b64(b"unused: the keys are in the token")}},
        }
        workload = next(o for o in self.pkcs11_objs if name_of(o) == "Deployment/sigstack-tsa")
        pod = Pod("pkcs11-sigstack-tsa-0", workload, render.pod_specs(workload)[0])
        pod.ports = {p["containerPort"]: free_port() for p in pod.spec["containers"][0]["ports"]}
        # the pod sees the pkcs11 overlay's objects, then those made above; nothing of the dev run
        saved_by, saved_store = self.by, self.api.store
        self.by, self.api.store = {**{render.key(o): o for o in self.pkcs11_objs}, **made}, {}
        self.extra_env = {"SOFTHSM2_CONF": str(conf)}
        try:
            if not (self.launch(pod) and self.wait_ready(pod)):
                return fail(what, "the pod did not start")
            digest = hashlib.sha256(b"kubernetes-check pkcs11").hexdigest()
            query = subprocess.run(["openssl", "ts", "-query", "-digest", digest, "-sha256", "-cert"],
                                   check=True, capture_output=True).stdout
            req = urllib.request.Request(self.url(pod, "/api/v1/timestamp"), data=query,
                                         headers={"Content-Type": "application/timestamp-query"}, method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                (d / "reply.tsr").write_bytes(r.read())
            text = subprocess.run(["openssl", "ts", "-reply", "-in", str(d / "reply.tsr"), "-text"],
                                  check=True, capture_output=True, text=True).stdout
            check(what, "Status: Granted." in text, text)
        except (urllib.error.URLError, OSError, ValueError, subprocess.SubprocessError) as e:
            fail(what, repr(e))
        finally:
            self.by, self.api.store, self.extra_env = saved_by, saved_store, {}
            if pod.proc:
                pod.proc.send_signal(signal.SIGTERM)
                check(f"{pod.name}: stops cleanly on SIGTERM (exit 0)", pod.proc.wait(timeout=35) == 0)

    def service_account_signing(self, fulcio: Pod) -> None:
        """The in-cluster flow of base/example-sign-job.yaml: a token shaped exactly as a
        projected service-account token (audience sigstore), from the cluster's issuer, gets a
        certificate naming the service account as upstream Fulcio does."""
        what = ("a projected service-account token (audience sigstore) gets a certificate for "
                "https://kubernetes.io/namespaces/sigstack/serviceaccounts/sigstack-example-signer")
        try:
            now = int(time.time())
            header = {"alg": "RS256", "kid": self.sa_kid}
            claims = {
                "aud": ["sigstore"], "exp": now + 600, "iat": now, "nbf": now, "iss": self.api.issuer,
                "sub": "system:serviceaccount:sigstack:sigstack-example-signer",
                "kubernetes.io": {
                    "namespace": "sigstack",
                    "node": {"name": "node-1", "uid": "6c3b1f4e-0000-4000-8000-000000000001"},
                    "pod": {"name": "sigstack-example-sign-x7k2p", "uid": "6c3b1f4e-0000-4000-8000-000000000002"},
                    "serviceaccount": {"name": "sigstack-example-signer", "uid": "6c3b1f4e-0000-4000-8000-000000000003"},
                },
            }
            signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
            (self.work / "jwt-input").write_text(signing_input)
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.work / "sa-signer.pem"),
                                  str(self.work / "jwt-input")], check=True, capture_output=True).stdout
            token = f"{signing_input}.{b64u(sig)}"
            key = self.work / "sa-client.pem"
            subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True, capture_output=True)
            pub = subprocess.run(["openssl", "ec", "-in", str(key), "-pubout"], check=True, capture_output=True).stdout.decode()
            (self.work / "challenge").write_text(claims["sub"])
            pop = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), str(self.work / "challenge")],
                                 check=True, capture_output=True).stdout
            body = {"credentials": {"oidcIdentityToken": token}, "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": pub}, "proofOfPossession": base64.b64encode(pop).decode()}}
            req = urllib.request.Request(self.url(fulcio, "/api/v2/signingCert"), data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                leaf = json.loads(r.read())["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
            text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=leaf.encode(), check=True,
                                  capture_output=True).stdout.decode()
            want = "URI:https://kubernetes.io/namespaces/sigstack/serviceaccounts/sigstack-example-signer"
            check(what, want in text and self.api.issuer in text, text[-1500:])
        except (urllib.error.URLError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            detail = e.read().decode(errors="replace") if isinstance(e, urllib.error.HTTPError) else ""
            fail(what, f"{e!r} {detail}")

    def sigstore_python(self, tuf: Pod, issuer: Pod) -> None:
        """A real client through the deployment: sigstore-python trusts the instance from the
        TUF root the init Job made (trust-instance), then signs (Fulcio with a dev-issuer token,
        Rekor, the TSA, as signing_config says) and verifies, through TUF only."""
        sp = self.args.sigstore_python
        d = self.work / "sigstore-python"
        d.mkdir()
        (d / "artifact.txt").write_text("signed through the Kubernetes dev overlay\n")
        (d / "root.json").write_bytes(self.files_of(self.api.store[("ConfigMap", "sigstack-tuf-seed")])["root.json"])
        env = {"PATH": "/usr/bin:/bin", "HOME": str(d), "XDG_DATA_HOME": str(d / "data"), "XDG_CACHE_HOME": str(d / "cache")}
        tuf_url = self.url(tuf, "")
        email = "kubernetes-check@example.com"
        issuer_url = self.url(issuer, "")

        def run(what: str, argv: list[str]) -> bool:
            r = subprocess.run([sp, *argv], check=False, env=env, capture_output=True, text=True, timeout=120, cwd=d)
            return check(f"sigstore-python {what}", r.returncode == 0, (r.stdout + r.stderr)[-2000:])
        try:
            token = subprocess.run([self.args.sigstack, "token", email, "--issuer-url", issuer_url],
                                   check=True, capture_output=True, text=True, timeout=30).stdout.strip()
        except subprocess.SubprocessError as e:
            fail("a dev-issuer token for sigstore-python", repr(e))
            return
        if (run("trusts the instance from the init Job's TUF root (trust-instance)",
                ["--instance", tuf_url, "trust-instance", str(d / "root.json")])
                and run("signs through the deployment (--instance: TUF only)",
                        ["--instance", tuf_url, "sign", "--identity-token", token, "--bundle", str(d / "b.json"), str(d / "artifact.txt")])):
            run("verifies the bundle through TUF",
                ["--instance", tuf_url, "verify", "identity", "--bundle", str(d / "b.json"), "--cert-identity", email,
                 "--cert-oidc-issuer", issuer_url, str(d / "artifact.txt")])

    def tuf_serves_trust(self, tuf: Pod) -> None:
        what = "tuf serves trusted_root.json naming the public URLs and the keys the init Job made"
        try:
            def get(path):
                with urllib.request.urlopen(self.url(tuf, path), timeout=10) as r:
                    return json.loads(r.read())
            meta = get("/timestamp.json")["signed"]["meta"]
            snap = get(f"/{meta['snapshot.json']['version']}.snapshot.json")
            targets = get(f"/{snap['signed']['meta']['targets.json']['version']}.targets.json")["signed"]["targets"]
            digest = targets["trusted_root.json"]["hashes"]["sha256"]
            tr = get(f"/targets/{digest}.trusted_root.json")
            chain = self.files_of(self.api.store[("Secret", "sigstack-keys")])["fulcio-chain.pem"].decode()
            root_der = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END", chain, re.DOTALL)[-1]
            root_b64 = base64.b64encode(base64.b64decode("".join(root_der.split()))).decode()
            urls = {k: self.rewrite(tuf, v.decode(), []) for k, v in self.files_of(self.by[("ConfigMap", "sigstack-public-urls")]).items()}
            certs = [c["rawBytes"] for ca in tr["certificateAuthorities"] for c in ca["certChain"]["certificates"]]
            check(what, root_b64 in certs and tr["tlogs"][0]["baseUrl"].startswith(urls["SIGSTACK_REKOR_PUBLIC_URL"].rstrip("/")),
                  json.dumps(tr)[:600])
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError) as e:
            fail(what, repr(e))

    def stop_all(self) -> None:
        for pod in reversed(self.pods):
            if not pod.proc:
                continue
            if pod.proc.poll() is not None:
                fail(f"{pod.name}: still running at the end", f"exited early with {pod.proc.returncode}")
                continue
            grace = pod.spec.get("terminationGracePeriodSeconds", 30)
            pod.proc.send_signal(signal.SIGTERM)
            try:
                rc = pod.proc.wait(timeout=grace)
                check(f"{pod.name}: stops cleanly on SIGTERM within {grace} s (exit 0)", rc == 0, f"exit {rc}")
            except subprocess.TimeoutExpired:
                pod.proc.kill()
                pod.proc.wait()
                fail(f"{pod.name}: stops within {grace} s of SIGTERM")

    def kill_all(self) -> None:
        for pod in self.pods:
            if pod.proc and pod.proc.poll() is None:
                pod.proc.kill()
                pod.proc.wait()
        if self.api:
            self.api.stop()

    def run(self) -> None:
        self.prepare()
        # The offline production preparation runs beside (it needs only the binary).
        self.offline_finish = offline_init(self.args, self.root)
        workloads = [o for o in self.objs if render.pod_specs(o)]
        for w in workloads:
            spec = render.pod_specs(w)[0]
            if not all(ours(c) for c in spec.get("containers", []) + spec.get("initContainers", [])):
                what = "the host's PostgreSQL stands in for it" if w["kind"] == "StatefulSet" else "not our image; not run here"
                ok(f"{name_of(w)}: {what}")
        runnable = [w for w in workloads if all(ours(c) for c in render.pod_specs(w)[0]["containers"])]
        order = {"Job": 0, "Deployment": 1}
        comp_order = ["migrate", "init", "dev-issuer", "ctlog", "fulcio", "rekor", "tsa", "tuf"]
        runnable.sort(key=lambda w: (order.get(w["kind"], 2), comp_order.index(
            w["metadata"]["labels"].get("app.kubernetes.io/component", "")) if w["metadata"]["labels"].get(
            "app.kubernetes.io/component") in comp_order else 99))
        self.plan(runnable)
        failed_start = []
        # Jobs one after the other; then every server pod at once, as a kubelet starts them
        # (each waits for its own probes; Fulcio reaches the CT log only when asked to issue).
        launched = []
        for pod in self.pods:
            if pod.owner["kind"] == "Job":
                if not self.start(pod):
                    failed_start.append(pod.name)
            elif self.launch(pod):
                launched.append(pod)
            else:
                failed_start.append(pod.name)
        for pod in launched:
            if not self.wait_ready(pod):
                failed_start.append(pod.name)
            self.sample_memory()
        stored = sorted(f"{k[0]} {k[1]}" for k in self.api.store)
        check("the init Job stored Secret sigstack-keys and ConfigMaps sigstack-ctlog-shards, sigstack-rekor-shards, sigstack-tuf-seed",
              stored == ["ConfigMap sigstack-ctlog-shards", "ConfigMap sigstack-rekor-shards", "ConfigMap sigstack-tuf-seed",
                         "Secret sigstack-keys"], str(stored))
        keys = self.api.store.get(("Secret", "sigstack-keys"))
        if keys:
            files = self.files_of(keys)
            plain = [k for k, v in files.items() if b"PRIVATE KEY" in v and b"ENCRYPTED PRIVATE KEY" not in v]
            check("every private key in Secret sigstack-keys is encrypted; the TUF root key is not there",
                  not plain and "tuf-root.pem" not in files and sum(b"ENCRYPTED PRIVATE KEY" in v for v in files.values()) >= 6,
                  f"plaintext {plain}; files {sorted(files)}")
        rekors = [p for p in self.pods if p.owner["metadata"]["name"] == "sigstack-rekor" and p.ready]
        if len(rekors) == 2:
            self.two_rekors_one_log(*rekors)
        else:
            fail("two Rekor replicas are ready", f"{len(rekors)} ready")
        ready = {n: [p for p in self.pods if p.owner["metadata"]["name"] == f"sigstack-{n}" and p.ready]
                 for n in ("dev-issuer", "fulcio", "ctlog")}
        if ready["dev-issuer"] and len(ready["fulcio"]) == 2 and len(ready["ctlog"]) == 2:
            self.fulcio_issues(ready["dev-issuer"][0], ready["fulcio"], ready["ctlog"])
            self.service_account_signing(ready["fulcio"][1])
        else:
            fail("the dev issuer, two Fulcio and two CT log replicas are ready", repr({k: len(v) for k, v in ready.items()}))
        tuf = [p for p in self.pods if p.owner["metadata"]["name"] == "sigstack-tuf" and p.ready]
        if tuf and keys:
            self.tuf_serves_trust(tuf[0])
            if self.args.sigstore_python and ready["dev-issuer"]:
                self.sigstore_python(tuf[0], ready["dev-issuer"][0])
            elif not self.args.sigstore_python:
                skip("sigstore-python through the deployment (no --sigstore-python given)")
        if ready["dev-issuer"] and ready["fulcio"] and ready["ctlog"] and len(rekors) == 2 and keys and self.rekor_uuid:
            self.rotate_logs(ready["dev-issuer"][0], ready["fulcio"][0], ready["ctlog"][0], rekors[0], self.rekor_uuid)
        self.pkcs11_tsa()
        time.sleep(1)
        self.sample_memory()
        for pod in self.pods:
            if pod.proc and pod.name in self.peak:
                limit = memory_bytes(pod.spec["containers"][0]["resources"]["limits"]["memory"])
                request = pod.spec["containers"][0]["resources"]["requests"]["memory"]
                check(f"{pod.name}: peak resident memory {self.peak[pod.name] / 2**20:.0f} MiB "
                      f"(now {self.now.get(pod.name, 0) / 2**20:.0f} MiB), under its limit "
                      f"{pod.spec['containers'][0]['resources']['limits']['memory']} (request {request})",
                      self.peak[pod.name] < limit)
        for pod in self.pods:
            if hasattr(pod, "vols"):
                check(f"{pod.name}: its Secret and ConfigMap volumes are unchanged (mounted read-only in a cluster)",
                      self.read_only_digest(pod) == pod.digest_before)
        self.stop_all()
        init = [p for p in self.pods if p.owner["metadata"]["name"] == "sigstack-init"]
        if init and not failed_start:
            before = json.dumps(sorted((list(k), v) for k, v in self.api.store.items()), sort_keys=True)
            if self.run_to_completion(init[0], init[0].spec["containers"][0], init[0].vols, " (second run)"):
                after = json.dumps(sorted((list(k), v) for k, v in self.api.store.items()), sort_keys=True)
                check("the init Job run again changes nothing", after == before)


def offline_init(args, root: Path):
    """docs/kubernetes.md's production preparation: the root ceremony's repository, then
    sigstack-kubernetes-init offline; its four objects validate and carry that root. Returns
    a function that waits for it and checks the result (it runs beside the smoke run)."""
    work = Path(args.work) / "offline-init"
    scratch, out, ceremony = work / "scratch", work / "out", work / "ceremony"
    (scratch / "keys").mkdir(parents=True)
    ceremony.mkdir()
    bin_dir = Path(args.work) / "bin"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(work), "SIGSTACK_KEY_PASSWORD": "offline check password"}
    steps = [
        [args.sigstack, "tuf", "keygen", str(ceremony / "root-1.pem"), "--algorithm", "ecdsa-p256"],
        [args.sigstack, "tuf", "keygen", str(scratch / "keys" / "tuf-online.pem"), "--algorithm", "ecdsa-p256"],
        [args.sigstack, "tuf", "init", "--repo", str(ceremony / "tuf"), "--root-key", str(ceremony / "root-1.pem"),
         "--threshold", "1", "--online-key", str(scratch / "keys" / "tuf-online.pem")],
    ]
    for argv in steps:
        r = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=60)
        if not check(f"offline: `sigstack {' '.join(argv[1:3])}` (root ceremony)", r.returncode == 0, r.stderr):
            return None
    env.update({
        "SIGSTACK_INIT_SCRATCH": str(scratch), "SIGSTACK_KUBE_OUTPUT_DIR": str(out),
        "SIGSTACK_INIT_TUF_SEED": str(ceremony / "tuf"), "SIGSTACK_INIT_OIDC_ISSUER_URL": "https://idp.example.com",
        **{f"SIGSTACK_{s}_PUBLIC_URL": f"https://{s.lower()}.sigstore.example.com" for s in ("FULCIO", "CTLOG", "REKOR", "TSA", "TUF")},
    })
    proc = subprocess.Popen(["sigstack-kubernetes-init"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return lambda: offline_init_finish(proc, out, ceremony)


def offline_init_finish(proc: subprocess.Popen, out: Path, ceremony: Path) -> None:
    try:
        output, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    if not check("offline: sigstack-kubernetes-init with SIGSTACK_KUBE_OUTPUT_DIR and the ceremony's repository exits 0",
                 proc.returncode == 0, output[-3000:]):
        return
    objs = {f.stem: json.loads(f.read_text()) for f in sorted(out.glob("*.json"))}
    bad = []
    for name, o in objs.items():
        try:
            kubernetes_validate.validate(o, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            bad.append(f"{name}: {e.message}")
    check("offline: it writes Secret sigstack-keys and ConfigMaps sigstack-ctlog-shards, sigstack-rekor-shards, sigstack-tuf-seed, each valid",
          sorted(objs) == ["sigstack-ctlog-shards", "sigstack-keys", "sigstack-rekor-shards", "sigstack-tuf-seed"] and not bad,
          f"{sorted(objs)} {bad}")
    seed = objs.get("sigstack-tuf-seed", {}).get("binaryData", {})
    check("offline: the TUF seed is the ceremony's root",
          base64.b64decode(seed.get("root.json", "")) == (ceremony / "tuf" / "root.json").read_bytes())


def strict_schema(schema):
    """A CRD's structural schema with additionalProperties false wherever it lists properties
    and does not preserve unknown fields (the API server's strict field validation)."""
    if isinstance(schema, dict):
        out = {k: strict_schema(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def crd_validators(crd_dir: Path) -> dict[tuple[str, str], object]:
    import jsonschema

    out = {}
    for f in sorted(crd_dir.glob("*.yaml")):
        crd = yaml.safe_load(f.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            schema = strict_schema(v["schema"]["openAPIV3Schema"])
            # apiVersion, kind and metadata are the API server's, not the CRD's, to check.
            for k in ("apiVersion", "kind", "metadata"):
                schema.setdefault("properties", {}).pop(k, None)
            schema["additionalProperties"] = True
            out[(f"{group}/{v['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return out


def admission_policies(args, root: Path, data_dir: Path) -> None:
    """`sigstack trust export` from the TUF pod's state (its claim): the policy-controller and
    Kyverno objects validate against the controllers' vendored CRDs and trust this instance."""
    out = Path(args.work) / "trust-export"
    subject = "https://kubernetes.io/namespaces/ci/serviceaccounts/builder"
    issuer = "https://kubernetes.default.svc.cluster.local"
    r = subprocess.run([args.sigstack, "trust", "export", str(out), "--data-dir", str(data_dir), "--identity", subject,
                        "--issuer", issuer, "--docker-scope", "registry.example.com/team"],
                       check=False, capture_output=True, text=True, timeout=60)
    if not check("`sigstack trust export --identity --issuer` from the TUF pod's state writes the admission policies",
                 r.returncode == 0 and (out / "kubernetes/policy-controller.json").exists() and (out / "kubernetes/kyverno.json").exists(),
                 r.stdout + r.stderr):
        return
    validators = crd_validators(root / "scripts/kubernetes/crds")
    trusted = json.loads((out / "trusted_root.json").read_text())
    current_ca = next(c for c in trusted["certificateAuthorities"] if not c["validFor"].get("end"))
    ca_root_b64 = current_ca["certChain"]["certificates"][-1]["rawBytes"]
    for name in ("policy-controller.json", "kyverno.json"):
        doc = json.loads((out / "kubernetes" / name).read_text())
        check(f"{name}: a v1 List (kubectl apply -f)", doc.get("apiVersion") == "v1" and doc.get("kind") == "List")
        for item in doc.get("items", []):
            who = f"{name}: {item['kind']} {item['metadata']['name']} ({item['apiVersion']})"
            v = validators.get((item["apiVersion"], item["kind"]))
            if not check(f"{who}: its CRD is vendored", v is not None):
                continue
            errors = sorted(v.iter_errors(item), key=lambda e: list(e.path))
            check(f"{who}: validates against the controller's CRD schema (strict)", not errors,
                  "\n".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:10]))
            text = json.dumps(item)
            if item["kind"] == "TrustRoot":
                # certChain is the base64 of a PEM chain; the root is its last certificate.
                bodies = [re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END", base64.b64decode(c["certChain"]).decode(), re.DOTALL)
                          for c in item["spec"]["sigstoreKeys"]["certificateAuthorities"]]
                check(f"{who}: holds the current Fulcio root", any(b and "".join(b[-1].split()) == ca_root_b64 for b in bodies))
            else:
                check(f"{who}: names the signer, the issuer and this instance's Fulcio or roots",
                      subject in text and issuer in text and ("roots" in text or trusted["certificateAuthorities"][0]["uri"] in text))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--sigstack", required=True)
    ap.add_argument("--database-url")
    ap.add_argument("--work")
    ap.add_argument("--health-timeout", type=float, default=60)
    ap.add_argument("--sigstore-python", help="sigstore-python's CLI: sign and verify through the TUF pod")
    ap.add_argument("--softhsm-module", help="SoftHSM2's PKCS#11 module: run a pod of the pkcs11 overlay on it")
    args = ap.parse_args()
    root = Path(args.root).resolve()
    rendered = render_all(root)
    init_scripts = [root / "scripts/kubernetes/init.sh", root / "scripts/compose/init.sh"]
    for overlay, objs in rendered.items():
        try:
            static_checks(overlay, objs, args.sigstack, init_scripts)
        except Exception:  # noqa: BLE001 - a bug here must still end in a counted failure
            import traceback

            fail(f"{overlay}: static checks", traceback.format_exc())
    if args.database_url and args.work and rendered.get("dev"):
        smoke = Smoke(rendered["dev"], args, root)
        smoke.pkcs11_objs = rendered["pkcs11"]
        try:
            smoke.run()
        except Exception:  # noqa: BLE001
            import traceback

            fail("smoke run", traceback.format_exc())
        finally:
            smoke.kill_all()
        claim = Path(args.work) / "claims" / "sigstack-tuf"
        try:
            if (claim / "trust-history.json").exists():
                admission_policies(args, root, claim)
            else:
                fail("admission policies: the TUF pod left no trust-history.json on its claim")
        except Exception:  # noqa: BLE001
            import traceback

            fail("admission policies", traceback.format_exc())
        try:
            if getattr(smoke, "offline_finish", None):
                smoke.offline_finish()
        except Exception:  # noqa: BLE001
            import traceback

            fail("offline init", traceback.format_exc())
    else:
        skip("smoke run (no --database-url/--work given)")
    return TALLY.close()


if __name__ == "__main__":
    sys.exit(main())
