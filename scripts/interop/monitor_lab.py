#!/usr/bin/env python3
"""Helpers of scripts/interop/monitor.sh, written from the Rekor v1 and v2 APIs alone (standard
library and `cryptography`, pinned by the suite's venv):

  add       log COUNT hashedrekord entries (v2, or 0.0.1 through the v1 API with --v1) in the
            Rekor log at URL, each signed by a fresh P-256 key in a self-signed certificate
            whose SAN is the email EMAIL
  origin    print the origin (first line) of the log's checkpoint at URL (--v1: Rekor v1's)
  size      print the size of the log's checkpoint at URL
  witnessed wait (20 s at most) until the witness at WITNESS holds the log's current size
  state     print the tree size the monitor's SQLite database DB holds for the log URL
  hook      serve on 127.0.0.1:PORT, appending each POSTed body as a line to OUT (a webhook)
  findings  check a running monitor's GET /findings at URL: JSON of the documented shape,
            holding a finding of kind KIND

Exits non-zero on any failure.
"""

import argparse
import base64
import datetime
import hashlib
import json
import sqlite3
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def cmd_add(a: argparse.Namespace) -> None:
    for i in range(a.count):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "monitor lab")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(a.email)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        artifact = b"monitored artifact %d %s" % (i, now.isoformat().encode())
        if a.v1:
            add_v1(a.url, key, cert, artifact, i)
            continue
        body = json.dumps({"hashedRekordRequestV002": {
            "digest": b64(hashlib.sha256(artifact).digest()),
            "signature": {
                "content": b64(key.sign(artifact, ec.ECDSA(hashes.SHA256()))),
                "verifier": {
                    "x509Certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                },
            },
        }}).encode()
        req = urllib.request.Request(a.url + "/api/v2/log/entries", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            if r.status != 201:
                sys.exit(f"entry {i}: {r.status}")


def add_v1(url: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, artifact: bytes,
           i: int) -> None:
    """One hashedrekord 0.0.1 entry through POST /api/v1/log/entries."""
    body = json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(artifact).hexdigest()}},
        "signature": {
            "content": b64(key.sign(artifact, ec.ECDSA(hashes.SHA256()))),
            "publicKey": {"content": b64(cert.public_bytes(serialization.Encoding.PEM))},
        },
    }}).encode()
    req = urllib.request.Request(url + "/api/v1/log/entries", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status != 201:
            sys.exit(f"v1 entry {i}: {r.status}")


def cmd_origin(a: argparse.Namespace) -> None:
    if a.v1:
        with urllib.request.urlopen(a.url + "/api/v1/log", timeout=30) as r:
            print(json.loads(r.read())["signedTreeHead"].split("\n")[0])
        return
    with urllib.request.urlopen(a.url + "/api/v2/checkpoint", timeout=30) as r:
        print(r.read().decode().split("\n")[0])


def log_size(url: str) -> int:
    with urllib.request.urlopen(url + "/api/v2/checkpoint", timeout=30) as r:
        return int(r.read().decode().split("\n")[1])


def cmd_size(a: argparse.Namespace) -> None:
    print(log_size(a.url))


def cmd_witnessed(a: argparse.Namespace) -> None:
    with urllib.request.urlopen(a.url + "/api/v2/checkpoint", timeout=30) as r:
        origin = r.read().decode().split("\n")[0]
    want = log_size(a.url)
    at = f"{a.witness}/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(at, timeout=30) as r:
                if int(r.read().decode().split("\n")[1]) == want:
                    return
        except urllib.error.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"the witness did not reach size {want}")


def cmd_state(a: argparse.Namespace) -> None:
    row = sqlite3.connect(a.db).execute(
        "SELECT tree_size FROM monitor_logs WHERE log_url = ?", (a.url,)).fetchone()
    print(row[0] if row else "none")


def cmd_findings(a: argparse.Namespace) -> None:
    with urllib.request.urlopen(a.url + "/findings", timeout=30) as r:
        doc = json.loads(r.read())
    items = doc["findings"]
    ids = [f["id"] for f in items]
    if ids != sorted(ids, reverse=True):
        sys.exit(f"/findings is not newest first: {ids}")
    for f in items:
        for field in ("id", "found_at", "kind", "log", "detail"):
            if field not in f:
                sys.exit(f"a finding without {field}: {f}")
    if not any(f["kind"] == a.kind for f in items):
        sys.exit(f"no {a.kind} finding in {items}")
    try:
        urllib.request.urlopen(a.url + "/findings?limit=0", timeout=30)
        sys.exit("/findings?limit=0 was accepted")
    except urllib.error.HTTPError as e:
        if e.code != 400:
            sys.exit(f"/findings?limit=0 answered {e.code}, not 400")


def cmd_hook(a: argparse.Namespace) -> None:
    import http.server

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with open(a.out, "ab") as f:
                f.write(body.strip() + b"\n")
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            # Readiness: the suite waits for this before it starts the monitor.
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    http.server.HTTPServer(("127.0.0.1", a.port), Hook).serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("add")
    s.add_argument("--url", required=True)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--email", default="someone@example.com")
    s.add_argument("--v1", action="store_true")
    s.set_defaults(f=cmd_add)
    s = sub.add_parser("origin")
    s.add_argument("--url", required=True)
    s.add_argument("--v1", action="store_true")
    s.set_defaults(f=cmd_origin)
    s = sub.add_parser("size")
    s.add_argument("--url", required=True)
    s.set_defaults(f=cmd_size)
    s = sub.add_parser("witnessed")
    s.add_argument("--url", required=True)
    s.add_argument("--witness", required=True)
    s.set_defaults(f=cmd_witnessed)
    s = sub.add_parser("state")
    s.add_argument("--db", required=True)
    s.add_argument("--url", required=True)
    s.set_defaults(f=cmd_state)
    s = sub.add_parser("hook")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(f=cmd_hook)
    s = sub.add_parser("findings")
    s.add_argument("--url", required=True)
    s.add_argument("--kind", required=True)
    s.set_defaults(f=cmd_findings)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
