"""The server the explorer's browser suite (explorer.sh) puts around `sigstack up`.

  tamper  --port P --rekor URL --ctlog URL
      A proxy serving /rekor/... and /ctlog/... from those services, with every proof it
      relays altered: Rekor v1 inclusion proofs (the first hash, or the root when there is
      none), Rekor v2 level-0 tiles (one bit of every hash) and CT audit paths (the first
      hash). An explorer reading through it must show NOT verified, never verified.

Standard library only; runs until killed.
"""

import argparse
import base64
import http.server
import json
import sys
import urllib.error
import urllib.request


def flip_hex(h):
    return ("0" if h[0] != "0" else "1") + h[1:]


def flip_b64(b):
    raw = bytearray(base64.b64decode(b))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def tamper_rekor_json(value):
    """Alters every inclusionProof found in a Rekor v1 answer."""
    if isinstance(value, list):
        for v in value:
            tamper_rekor_json(v)
    elif isinstance(value, dict):
        proof = value.get("inclusionProof")
        if isinstance(proof, dict):
            if proof.get("hashes"):
                proof["hashes"][0] = flip_hex(proof["hashes"][0])
            else:
                proof["rootHash"] = flip_hex(proof["rootHash"])
        for v in value.values():
            tamper_rekor_json(v)


def tamper(path, body, content_type):
    if path.startswith("/rekor/api/v2/tile/0/"):
        raw = bytearray(body)
        for i in range(0, len(raw), 32):
            raw[i] ^= 1
        return bytes(raw)
    if path.startswith("/rekor/api/v1/") and content_type.startswith("application/json"):
        value = json.loads(body)
        tamper_rekor_json(value)
        return json.dumps(value).encode()
    if path.startswith("/ctlog/ct/v1/get-proof-by-hash"):
        value = json.loads(body)
        if value.get("audit_path"):
            value["audit_path"][0] = flip_b64(value["audit_path"][0])
        return json.dumps(value).encode()
    return body


def tamper_server(args):
    upstreams = {"rekor": args.rekor.rstrip("/"), "ctlog": args.ctlog.rstrip("/")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def relay(self):
            service, _, rest = self.path.lstrip("/").partition("/")
            if service not in upstreams:
                self.send_error(404)
                return
            data = None
            if self.command == "POST":
                data = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = urllib.request.Request(
                f"{upstreams[service]}/{rest}", data=data, method=self.command,
                headers={"content-type": self.headers.get("content-type", "application/json")})
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    status, ctype, body = r.status, r.headers.get("content-type", ""), r.read()
            except urllib.error.HTTPError as e:
                status, ctype, body = e.code, e.headers.get("content-type", ""), e.read()
            if status == 200:
                body = tamper(self.path, body, ctype)
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = relay
        do_POST = relay

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tamper")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--rekor", required=True)
    t.add_argument("--ctlog", required=True)
    args = parser.parse_args()
    {"tamper": tamper_server}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
