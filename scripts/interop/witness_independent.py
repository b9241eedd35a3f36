#!/usr/bin/env python3
"""Independent checks of a live `sigstack witness`, written from the C2SP specs alone
(signed-note, tlog-checkpoint, tlog-witness, tlog-cosignature) and RFC 6962.

Uses only Python's standard library and `cryptography` (pinned by scripts/interop/witness.sh);
nothing here comes from the Rust code under test. This script plays the log: it keeps a Merkle
tree, signs its checkpoints with an Ed25519 note key, submits them to the witness and checks
every answer. Subcommands (used by witness.sh):

  logkey   make the log's Ed25519 key (log-key.raw) and print its verifier key
  rekor    against a `sigstack rekor` whose v2 log has that witness: logs hashedrekord v2
           entries (self-signed certificate made here), waits for
           /api/v2/checkpoint/witnessed to reach their size, verifies its Ed25519 log signature
           (key read from the log's key file) and the cosignature, and checks
           /api/v2/witness-policy (C2SP tlog-policy) line by line
  fail-closed  against a `sigstack rekor --v2-witness-mode fail-closed`: phase `down` (its
           witness unreachable) a write is 503 with Retry-After yet logged; phase `up` the
           retry is 409 and a new write is 201, its inclusion proof verified here against the
           checkpoint it carries, which must meet /api/v2/witness-policy (parsed here: the log's
           Ed25519 signature and the quorum of cosignature/v1 lines)
  cosigned against a `sigstack up`: each witnessed-checkpoint URL serves a note whose last
           line is the witness's cosignature
  run      against a witness at URL with key file KEY (PKCS#8 PEM, plaintext) named NAME:
           a growing log gets cosignatures that verify here (key ID, signed message,
           timestamp); a rolled-back checkpoint gets 409 with the held size as
           text/x.tlog.size; an inconsistent proof or fork 422; an unknown origin 404; a bad
           signature 403; malformed bodies 400; an oversized one 413; and after every refusal
           the witness's monitoring endpoint still serves the last cosigned checkpoint

Prints one line per check, `ok: ...` or `FAILED: ...`, and a last line
`witness-independent: N passed, M failed`; exits non-zero on any failure.
"""

import argparse
import base64
import datetime
import hashlib
import json
import struct
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from rfc9162 import leaf_hash, mth, verify_inclusion

EM_DASH = "\u2014"


# --- RFC 6962 Merkle trees (hashes and MTH from rfc9162.py; the consistency prover here) ----


def subproof(m, leaves, complete):
    """SUBPROOF(m, D[n], b) of RFC 6962 section 2.1.2."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency_proof(m, leaves):
    return subproof(m, leaves, True)


# --- signed notes --------------------------------------------------------------------------


def key_id(name, sig_type, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + key).digest()[:4]


def vkey(name, sig_type, key):
    return f"{name}+{key_id(name, sig_type, key).hex()}+{base64.b64encode(bytes([sig_type]) + key).decode()}"


class Log:
    def __init__(self, origin, private_key, size):
        self.origin = origin
        self.key = private_key
        self.public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.leaves = [leaf_hash(b"entry %d" % i) for i in range(size)]

    def text(self, size, root=None):
        root = mth(self.leaves[:size]) if root is None else root
        return f"{self.origin}\n{size}\n{base64.b64encode(root).decode()}\n"

    def note(self, text, key=None):
        key = key or self.key
        public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        sig = key_id(self.origin, 0x01, public) + key.sign(text.encode())
        return f"{text}\n{EM_DASH} {self.origin} {base64.b64encode(sig).decode()}\n"

    def body(self, old, new, note=None, proof=None):
        if proof is None:
            proof = consistency_proof(old, self.leaves[:new]) if 0 < old < new else []
        lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
        return ("\n".join(lines) + "\n\n" + (note or self.note(self.text(new)))).encode()


# --- the witness -----------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failed += 1
            print("FAILED: {}{}".format(what, (": " + detail) if detail else ""))
        return ok


def post(url, body):
    req = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode(errors="replace")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def verify_cosignature(line, text, name, public_key):
    """Checks one cosignature/v1 line over the checkpoint text; returns its timestamp."""
    prefix = f"{EM_DASH} {name} "
    if not line.startswith(prefix):
        raise ValueError(f"not a signature line of {name}: {line!r}")
    raw = base64.b64decode(line[len(prefix):], validate=True)
    if raw[:4] != key_id(name, 0x04, public_key):
        raise ValueError(f"key ID {raw[:4].hex()} is not SHA-256(name, 0x0A, 0x04, key)[:4]")
    if len(raw) != 4 + 8 + 64:
        raise ValueError(f"cosignature of {len(raw)} bytes, expected 4 + 8 + 64")
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    message = (f"cosignature/v1\ntime {timestamp}\n" + text).encode()
    Ed25519PublicKey.from_public_bytes(public_key).verify(raw[12:], message)
    return timestamp


def run(args):
    c = Checks()
    with open(args.key, "rb") as f:
        witness_key = serialization.load_pem_private_key(f.read(), password=None)
    witness_public = witness_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    c.check(
        "the witness's printed verifier key is name+ID+base64(0x04||key) as computed here",
        args.vkey == vkey(args.name, 0x04, witness_public),
        f"{args.vkey} vs {vkey(args.name, 0x04, witness_public)}",
    )
    with open(args.log_key, "rb") as f:
        log = Log(args.origin, Ed25519PrivateKey.from_private_bytes(f.read()), 200)
    monitoring = f"{args.url}/{hashlib.sha256(args.origin.encode()).hexdigest()}/checkpoint"
    status, _ = get(monitoring)
    c.check("the monitoring endpoint is 404 before any cosignature", status == 404, str(status))

    held = 0
    for new in [0, 1, 7, 8, 100, 100, 129, 200]:
        status, _, body = post(args.url, log.body(held, new))
        if not c.check(f"{held} -> {new} is cosigned", status == 200, f"{status} {body}"):
            continue
        lines = body.splitlines()
        try:
            stamps = [verify_cosignature(line, log.text(new), args.name, witness_public) for line in lines]
            now = time.time()
            c.check(
                f"the cosignature of size {new} verifies, timestamp within a minute of now",
                len(stamps) == 1 and abs(stamps[0] - now) < 60 and body.endswith("\n"),
                repr(body),
            )
        except Exception as e:  # noqa: BLE001 - any failure to verify is the finding
            c.check(f"the cosignature of size {new} verifies", False, str(e))
        held = new

    status, served = get(monitoring)
    served_ok = status == 200 and served.startswith(log.text(held) + "\n")
    if served_ok:
        sig_lines = served[len(log.text(held)) + 1:].splitlines()
        try:
            verify_cosignature(sig_lines[-1], log.text(held), args.name, witness_public)
        except Exception:  # noqa: BLE001
            served_ok = False
        served_ok = served_ok and sig_lines[0] == log.note(log.text(held)).splitlines()[-1]
    c.check("the monitoring endpoint serves the log's signature and the cosignature", served_ok, served)

    def refused(what, body, want_status, want_ctype=None, want_body=None):
        status, ctype, text = post(args.url, body)
        ok = status == want_status
        if want_ctype is not None:
            ok = ok and ctype == want_ctype
        if want_body is not None:
            ok = ok and text == want_body
        c.check(f"{what}: {want_status}", ok, f"{status} {ctype} {text!r}")

    # 409: the old size is not the one held (a rollback, or a stale client).
    refused("rolled back (old 8)", log.body(8, 100), 409, "text/x.tlog.size", f"{held}\n")
    refused("old 0 after the log grew", log.body(0, 50), 409, "text/x.tlog.size", f"{held}\n")
    # 422: a proof that does not verify; a fork at the held size; size 0 with a non-empty root.
    log.leaves += [leaf_hash(b"more %d" % i) for i in range(50)]
    proof = consistency_proof(held, log.leaves[:250])
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    refused("a proof that does not verify", log.body(held, 250, proof=proof), 422)
    fork = log.note(log.text(held, root=b"\x07" * 32))
    refused("another root at the held size", log.body(held, held, note=fork), 422)
    # 404 and 403: an origin it does not follow; a key it does not trust; an altered text.
    stranger = Log("stranger.example/log", log.key, 1)
    refused("an unknown origin", stranger.body(0, 1), 404)
    other_key = Ed25519PrivateKey.generate()
    refused("a key the witness does not trust", log.body(held, 250, note=log.note(log.text(250), key=other_key)), 403)
    good = log.note(log.text(250))
    altered = good.replace("\n250\n", "\n251\n", 1)
    refused("a text the signature does not cover", log.body(held, 251, note=altered), 403)
    # 400: malformed bodies, and an old size above the checkpoint's.
    for what, body in [
        ("an empty body", b""),
        ("no blank line", b"old %d\n" % held),
        ("a non-canonical size", b"old 0%d\n\n" % held + good.encode()),
        ("a proof line that is not a hash", b"old %d\nAAAA\n\n" % held + good.encode()),
        ("64 proof lines", (f"old {held}\n" + (base64.b64encode(b"\x00" * 32).decode() + "\n") * 64 + "\n" + good).encode()),
        ("a note without signatures", b"old %d\n\n" % held + log.text(250).encode() + b"\n"),
        ("old above the checkpoint's size", log.body(251, 250, proof=[])),
    ]:
        refused(what, body, 400)
    refused("an oversized body", log.body(held, 250) + b"x" * (args.max_body_bytes + 1), 413)

    status, after = get(monitoring)
    c.check(f"after every refusal the witness still holds size {held}, unchanged", status == 200 and after == served)
    status, _, body = post(args.url, log.body(held, 250))
    try:
        verify_cosignature(body.splitlines()[0], log.text(250), args.name, witness_public)
        ok = status == 200
    except Exception:  # noqa: BLE001
        ok = False
    c.check(f"and the log still advances from it ({held} -> 250)", ok, f"{status} {body}")

    print(f"witness-independent: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def raw_public(pem_path):
    """The raw Ed25519 public key of a plaintext PKCS#8 PEM private key file."""
    with open(pem_path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


def entry_signer():
    """A throwaway ECDSA P-256 key in a self-signed certificate (DER) that signs entries."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "witness interop")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def hashedrekord_v2(key, der, artifact):
    """A Rekor v2 hashedrekord request body for `artifact`."""
    return json.dumps({"hashedRekordRequestV002": {
        "digest": base64.b64encode(hashlib.sha256(artifact).digest()).decode(),
        "signature": {
            "content": base64.b64encode(key.sign(artifact, ec.ECDSA(hashes.SHA256()))).decode(),
            "verifier": {
                "x509Certificate": {"rawBytes": base64.b64encode(der).decode()},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }}).encode()


def post_entry(url, body):
    """POSTs a v2 entry; returns (status, headers, text)."""
    req = urllib.request.Request(url + "/api/v2/log/entries", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")


def split_note(note):
    """(checkpoint text with its final newline, signature lines) of a signed note."""
    body, _, sigs = note.partition("\n\n")
    return body + "\n", sigs.splitlines()


def verify_log_signature(line, text, origin, log_public):
    """Checks an Ed25519 (type 0x01) note signature line of the log over `text`."""
    raw = base64.b64decode(line.split(" ")[2], validate=True)
    if not line.startswith(f"{EM_DASH} {origin} ") or raw[:4] != key_id(origin, 0x01, log_public):
        raise ValueError(f"not the log's signature line: {line!r}")
    Ed25519PublicKey.from_public_bytes(log_public).verify(raw[4:], text.encode())


def parse_vkey(v):
    """(name, signature type, key) of a verifier key, its key ID checked."""
    name, kid, b64 = v.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if bytes.fromhex(kid) != key_id(name, raw[0], raw[1:]):
        raise ValueError(f"verifier key {v}: the key ID does not match")
    return name, raw[0], raw[1:]


def meets_policy(note, policy):
    """Whether the signed note verifies under a C2SP tlog-policy file with Ed25519 log and
    cosignature/v1 witness keys: the log's signature, and the quorum of valid cosignatures."""
    text, lines = split_note(note)
    witnesses, groups, quorum, log_ok = {}, {}, None, False
    for line in policy.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "log":
            name, typ, key = parse_vkey(words[1])
            if typ != 0x01 or name != text.split("\n")[0]:
                raise ValueError(f"the policy's log key {words[1]} is not the checkpoint origin's Ed25519 key")
            log_ok = any(l.startswith(f"{EM_DASH} {name} ") and _verifies(verify_log_signature, l, text, name, key)
                         for l in lines)
        elif words[0] == "witness":
            name, typ, key = parse_vkey(words[2])
            if typ != 0x04:
                raise ValueError(f"witness {words[1]} is not a cosignature/v1 key")
            witnesses[words[1]] = any(_verifies(verify_cosignature, l, text, name, key) for l in lines)
        elif words[0] == "group":
            groups[words[1]] = (words[2], words[3:])
        elif words[0] == "quorum":
            quorum = words[1]

    def satisfied(member):
        if member in witnesses:
            return witnesses[member]
        want, members = groups[member]
        got = sum(1 for m in members if satisfied(m))
        need = len(members) if want == "all" else 1 if want == "any" else int(want)
        return got >= need

    return log_ok and (quorum == "none" or (quorum is not None and satisfied(quorum)))


def _verifies(check, *args):
    try:
        check(*args)
        return True
    except Exception:  # noqa: BLE001 - a signature that does not verify is simply not counted
        return False


def rekor(args):
    c = Checks()
    witness_public = raw_public(args.key)
    log_public = raw_public(args.log_key)
    origin = args.origin
    # Entries: hashedrekord v2, signed by a throwaway key in a self-signed certificate.
    key, der = entry_signer()
    for i in range(args.entries):
        status, _, _ = post_entry(args.url, hashedrekord_v2(key, der, b"witnessed artifact %d" % i))
        c.check(f"Rekor v2 logs entry {i}", status == 201, str(status))

    # The witnessed checkpoint reaches the log's size, signed by the log and cosigned.
    text = None
    deadline = time.time() + 60
    while time.time() < deadline:
        status, note = get(args.url + "/api/v2/checkpoint/witnessed")
        if status == 200 and note.split("\n")[1] == str(args.entries):
            text = note
            break
        time.sleep(0.2)
    if c.check(f"/api/v2/checkpoint/witnessed reaches size {args.entries}", text is not None):
        body, lines = split_note(text)
        ok = len(lines) == 2
        try:
            verify_log_signature(lines[0], body, origin, log_public)
            verify_cosignature(lines[1], body, args.name, witness_public)
        except Exception as e:  # noqa: BLE001 - any failure to verify is the finding
            ok = False
            print(f"  {e}")
        c.check("its log signature (Ed25519, the v2 key) and the witness's cosignature verify", ok, text)

    status, policy = get(args.url + "/api/v2/witness-policy")
    want = (
        f"log {vkey(origin, 0x01, log_public)} {args.public_url}\n"
        f"witness w1 {vkey(args.name, 0x04, witness_public)} {args.witness_url}\n"
        "group witnesses 1 w1\nquorum witnesses\n"
    )
    c.check("/api/v2/witness-policy is the C2SP tlog-policy computed here", status == 200 and policy == want,
            f"{status} {policy!r} vs {want!r}")
    print(f"witness-independent-rekor: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def fail_closed(args):
    """A fail-closed Rekor v2: with its witness down, a write is 503 with Retry-After and yet
    logged; with it up, the retry is a duplicate (409) and a new write is 201 with an inclusion
    proof against a checkpoint that meets the log's witness policy."""
    c = Checks()
    if args.phase == "down":
        key, der = entry_signer()
        body = hashedrekord_v2(key, der, b"fail-closed artifact")
        with open(args.state, "wb") as f:
            f.write(body)
        _, before = get(args.url + "/api/v2/checkpoint")
        status, headers, text = post_entry(args.url, body)
        try:
            message = json.loads(text).get("message", "") if status == 503 else ""
        except ValueError:
            message = ""
        c.check("witness down: the write is 503 with Retry-After and a JSON error",
                status == 503 and headers.get("Retry-After") is not None and "witness" in message,
                f"{status} {dict(headers)} {text}")
        _, after = get(args.url + "/api/v2/checkpoint")
        c.check("the entry is in the log all the same (the checkpoint grew by one)",
                int(after.split("\n")[1]) == int(before.split("\n")[1]) + 1, f"{before!r} -> {after!r}")
    else:
        with open(args.state, "rb") as f:
            body = f.read()
        status, _, text = post_entry(args.url, body)
        c.check("witness up: retrying the refused write finds the entry (409)", status == 409, f"{status} {text}")
        key, der = entry_signer()
        status, _, text = post_entry(args.url, hashedrekord_v2(key, der, b"fail-closed artifact, witnessed"))
        if c.check("witness up: a new write is 201", status == 201, f"{status} {text}"):
            entry = json.loads(text)
            proof = entry["inclusionProof"]
            note = proof["checkpoint"]["envelope"]
            text_, _ = split_note(note)
            _, size, root = text_.split("\n")[:3]
            leaf = leaf_hash(base64.b64decode(entry["canonicalizedBody"]))
            c.check("its inclusion proof verifies against the checkpoint it carries",
                    size == proof["treeSize"] and root == proof["rootHash"] and verify_inclusion(
                        int(proof["logIndex"]), int(size), leaf,
                        [base64.b64decode(h) for h in proof.get("hashes", [])], base64.b64decode(root)),
                    json.dumps(proof))
            status, policy = get(args.url + "/api/v2/witness-policy")
            try:
                ok = status == 200 and meets_policy(note, policy)
            except Exception as e:  # noqa: BLE001 - any failure to verify is the finding
                ok = False
                print(f"  {e}")
            c.check("that checkpoint carries the cosignatures and meets /api/v2/witness-policy", ok,
                    f"{note!r} {policy!r}")
    print(f"witness-independent-fail-closed: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def cosigned(args):
    """Each URL serves a checkpoint whose last signature line is the witness's valid
    cosignature over it (the logs of a `sigstack up`)."""
    c = Checks()
    witness_public = raw_public(args.key)
    for url in args.url:
        note = None
        deadline = time.time() + 30
        while time.time() < deadline:
            status, note = get(url)
            if status == 200:
                break
            note = None
            time.sleep(0.2)
        ok = note is not None
        if ok:
            text, lines = split_note(note)
            ok = len(lines) >= 2 and _verifies(verify_cosignature, lines[-1], text, args.name, witness_public)
        c.check(f"{url} is cosigned by {args.name}", ok, repr(note))
    print(f"witness-independent-cosigned: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def logkey(args):
    key = Ed25519PrivateKey.generate()
    with open(args.out, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    print(vkey(args.origin, 0x01, public))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("logkey")
    k.add_argument("--origin", required=True)
    k.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--key", required=True, help="the witness's PKCS#8 PEM key")
    r.add_argument("--name", required=True)
    r.add_argument("--vkey", required=True, help="the verifier key the witness printed")
    r.add_argument("--origin", required=True)
    r.add_argument("--log-key", required=True)
    r.add_argument("--max-body-bytes", type=int, required=True)
    rk = sub.add_parser("rekor")
    rk.add_argument("--url", required=True, help="Rekor")
    rk.add_argument("--public-url", required=True, help="Rekor's --public-url")
    rk.add_argument("--origin", required=True, help="the v2 log's origin")
    rk.add_argument("--log-key", required=True, help="the v2 log's PKCS#8 PEM key")
    rk.add_argument("--witness-url", required=True)
    rk.add_argument("--key", required=True, help="the witness's PKCS#8 PEM key")
    rk.add_argument("--name", required=True)
    rk.add_argument("--entries", type=int, default=3)
    fc = sub.add_parser("fail-closed")
    fc.add_argument("--url", required=True, help="a Rekor in --v2-witness-mode fail-closed")
    fc.add_argument("--phase", required=True, choices=["down", "up"], help="its witness is down, then up")
    fc.add_argument("--state", required=True, help="where the refused write is kept between phases")
    cs = sub.add_parser("cosigned")
    cs.add_argument("--url", required=True, action="append", help="a witnessed checkpoint (repeatable)")
    cs.add_argument("--key", required=True, help="the witness's PKCS#8 PEM key")
    cs.add_argument("--name", required=True)
    args = p.parse_args()
    return {"logkey": logkey, "run": run, "rekor": rekor, "fail-closed": fail_closed,
            "cosigned": cosigned}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
