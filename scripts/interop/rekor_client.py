#!/usr/bin/env python3
"""The Python side of scripts/interop/rekor.sh: trust configs for a live sigstack stack,
tokens, and checks of Rekor's answers written from the specs alone (RFC 6962 / 9162 proofs,
C2SP signed notes, Rekor's SET), with `cryptography` and the standard library only; nothing
here comes from the Rust code under test.

  trust      ClientTrustConfigs for sigstore-python: trust-v1.json (Rekor v1, no TSA) and
             trust-v2.json (Rekor v2 + our TSA; v1 kept for verification)
  token      an ID token from the suite's test issuer (fulcio_client.py's)
  check-v1   a sigstore-python bundle's Rekor v1 entry, against the live log: the entry by
             UUID, its SET, inclusion proof, checkpoint signature, a consistency proof to the
             current tree, and the search index (by artifact hash, by email)
  check-v2   a Rekor v2 bundle: inclusion proof, Ed25519 checkpoint, and the current tree
             rebuilt from the v2 tiles
  tamper     tampered copies of a bundle (signature, inclusion proof root, canonical body)
  bad        malformed and forged requests to both APIs: 4xx JSON errors, tree unchanged

Each subcommand prints one line and exits non-zero on the first failure, saying why.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ct_independent import mth, verify_consistency, verify_inclusion
from fulcio_client import (
    EMAIL,
    ctlog_entry,
    load_key,
    mint,
    spki_der,
    trust_config,
)

DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
SINCE = "2020-01-01T00:00:00Z"


def fail(msg: str) -> None:
    print(f"FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def http(method: str, url: str, body: bytes | None = None, ctype: str = "application/json"):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url: str):
    status, body = http("GET", url)
    if status != 200:
        fail(f"GET {url}: {status} {body[:300]!r}")
    return json.loads(body)


# --- trust ---------------------------------------------------------------------------------


def rekor_v1_key(rekor_url: str) -> bytes:
    status, pem = http("GET", rekor_url + "/api/v1/log/publicKey")
    if status != 200:
        fail(f"publicKey: {status}")
    return serialization.load_pem_public_key(pem).public_bytes(DER, SPKI)


def rekor_v2_key(d: Path) -> ed25519.Ed25519PublicKey:
    key = serialization.load_pem_private_key((d / "rekor-v2.pem").read_bytes(), None)
    return key.public_key()


def v2_log_id(origin: str, pub: ed25519.Ed25519PublicKey) -> bytes:
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()


def host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]


def cmd_trust(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    ct = ctlog_entry(a.ct_url, spki_der(load_key(Path(a.ct_key))), root.not_valid_before_utc)
    v1_der = rekor_v1_key(a.rekor_url)
    v1 = {
        "baseUrl": a.rekor_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": b64(v1_der), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": SINCE}},
        "logId": {"keyId": b64(hashlib.sha256(v1_der).digest())},
    }
    v2_pub = rekor_v2_key(d)
    v2 = {
        "baseUrl": a.rekor_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(v2_pub.public_bytes(DER, SPKI)),
            "keyDetails": "PKIX_ED25519",
            "validFor": {"start": SINCE},
        },
        "logId": {"keyId": b64(v2_log_id(host_of(a.rekor_url), v2_pub))},
    }
    service = {"validFor": {"start": SINCE}, "operator": "sigstack-interop"}

    one = trust_config(a.fulcio_url, root, [ct])
    one["trustedRoot"]["tlogs"] = [v1]
    one["signingConfig"]["rekorTlogUrls"] = [dict(service, url=a.rekor_url, majorApiVersion=1)]
    (d / "trust-v1.json").write_text(json.dumps(one, indent=1))

    status, chain_pem = http("GET", a.tsa_url + "/api/v1/timestamp/certchain")
    if status != 200:
        fail(f"TSA certchain: {status}")
    chain = x509.load_pem_x509_certificates(chain_pem)
    if len(chain) < 2:
        fail(f"the TSA chain has {len(chain)} certificate(s); trusted_root needs leaf and root")
    two = copy.deepcopy(one)
    two["trustedRoot"]["tlogs"] = [v1, v2]
    two["trustedRoot"]["timestampAuthorities"] = [
        {
            "subject": {"organization": "sigstack interop", "commonName": "sigstack interop TSA"},
            "uri": a.tsa_url,
            "certChain": {"certificates": [{"rawBytes": b64(c.public_bytes(DER))} for c in chain]},
            "validFor": {"start": SINCE},
        }
    ]
    two["signingConfig"]["rekorTlogUrls"] = [dict(service, url=a.rekor_url, majorApiVersion=2)]
    two["signingConfig"]["tsaUrls"] = [dict(service, url=a.tsa_url + "/api/v1/timestamp", majorApiVersion=1)]
    (d / "trust-v2.json").write_text(json.dumps(two, indent=1))
    print(f"trust configs written (v1 logID {v1['logId']['keyId']}, v2 logID {v2['logId']['keyId']})")


def cmd_token(a: argparse.Namespace) -> None:
    key = load_key(Path(a.dir) / ("issuer-rogue.pem" if a.rogue else "issuer-good.pem"))
    print(mint(key, a.issuer_url, email=a.email))


# --- independent checks --------------------------------------------------------------------


def note_parts(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    if "\n\n" not in note or not note.endswith("\n"):
        fail(f"not a signed note: {note!r}")
    text, sigs = note.split("\n\n", 1)
    lines = []
    for line in sigs.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail(f"bad signature line {line!r}")
        name, sig = line[2:].rsplit(" ", 1)
        lines.append((name, base64.b64decode(sig)))
    return text + "\n", lines


def check_checkpoint_ecdsa(note: str, pub: ec.EllipticCurvePublicKey, log_id: bytes) -> tuple[int, bytes]:
    text, sigs = note_parts(note)
    for _name, blob in sigs:
        if blob[:4] == log_id[:4]:
            try:
                pub.verify(blob[4:], text.encode(), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                fail("the checkpoint's ECDSA signature does not verify")
            lines = text.split("\n")
            return int(lines[1]), base64.b64decode(lines[2])
    fail("no checkpoint signature with the log's key hint")


def check_checkpoint_ed25519(note: str, pub: ed25519.Ed25519PublicKey, log_id: bytes, origin: str) -> tuple[int, bytes]:
    text, sigs = note_parts(note)
    lines = text.split("\n")
    if lines[0] != origin:
        fail(f"checkpoint origin {lines[0]!r}, expected {origin!r}")
    for name, blob in sigs:
        if name == origin and blob[:4] == log_id[:4]:
            try:
                pub.verify(blob[4:], text.encode())
            except InvalidSignature:
                fail("the checkpoint's Ed25519 signature does not verify")
            return int(lines[1]), base64.b64decode(lines[2])
    fail("no checkpoint signature with the log's name and key hint")


def tlog_entry(bundle: dict) -> dict:
    entries = bundle["verificationMaterial"]["tlogEntries"]
    if len(entries) != 1:
        fail(f"{len(entries)} tlog entries")
    return entries[0]


def cmd_check_v1(a: argparse.Namespace) -> None:
    bundle = json.loads(Path(a.bundle).read_text())
    e = tlog_entry(bundle)
    kind = e["kindVersion"]
    if kind != {"kind": a.kind, "version": a.version}:
        fail(f"kindVersion {kind}, expected {a.kind} {a.version}")
    body = base64.b64decode(e["canonicalizedBody"])
    uuid = hashlib.sha256(b"\x00" + body).hexdigest()
    v1_der = rekor_v1_key(a.rekor_url)
    pub = serialization.load_der_public_key(v1_der)
    log_id = hashlib.sha256(v1_der).digest()
    if base64.b64decode(e["logId"]["keyId"]) != log_id:
        fail("bundle logId is not our Rekor v1 key's")
    got = get_json(f"{a.rekor_url}/api/v1/log/entries/{uuid}")
    entry_id, live = next(iter(got.items()))
    if not entry_id.endswith(uuid) or base64.b64decode(live["body"]) != body:
        fail("the live entry is not the bundle's")
    # SET: RFC 8785 JSON of these four members (ASCII strings and integers: sorted keys suffice).
    payload = json.dumps(
        {"body": live["body"], "integratedTime": live["integratedTime"], "logID": live["logID"], "logIndex": live["logIndex"]},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    for set_b64 in (live["verification"]["signedEntryTimestamp"], e["inclusionPromise"]["signedEntryTimestamp"]):
        try:
            pub.verify(base64.b64decode(set_b64), payload, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            fail("a SignedEntryTimestamp does not verify")
    if int(e["integratedTime"]) != live["integratedTime"] or int(e["logIndex"]) != live["logIndex"]:
        fail("bundle integratedTime/logIndex differ from the log's")
    proof = live["verification"]["inclusionProof"]
    leaf = hashlib.sha256(b"\x00" + body).digest()
    root = bytes.fromhex(proof["rootHash"])
    if not verify_inclusion(proof["logIndex"], proof["treeSize"], leaf, [bytes.fromhex(h) for h in proof["hashes"]], root):
        fail("live inclusion proof does not verify (RFC 9162 2.1.3.2)")
    size, cp_root = check_checkpoint_ecdsa(proof["checkpoint"], pub, log_id)
    if (size, cp_root) != (proof["treeSize"], root):
        fail("checkpoint size/root differ from the proof's")
    # The bundle's own proof, against the bundle's own checkpoint.
    bp = e["inclusionProof"]
    b_root = base64.b64decode(bp["rootHash"])
    b_size = int(bp["treeSize"])
    if not verify_inclusion(int(bp["logIndex"]), b_size, leaf, [base64.b64decode(h) for h in bp["hashes"]], b_root):
        fail("the bundle's inclusion proof does not verify")
    if check_checkpoint_ecdsa(bp["checkpoint"]["envelope"], pub, log_id) != (b_size, b_root):
        fail("the bundle's checkpoint does not match its proof")
    # Consistency from the bundle's tree to the current one.
    info = get_json(f"{a.rekor_url}/api/v1/log")
    now_size, now_root = info["treeSize"], bytes.fromhex(info["rootHash"])
    if b_size < now_size:
        p = get_json(f"{a.rekor_url}/api/v1/log/proof?firstSize={b_size}&lastSize={now_size}")
        if not verify_consistency(b_size, now_size, b_root, now_root, [bytes.fromhex(h) for h in p["hashes"]]):
            fail(f"consistency proof {b_size} -> {now_size} does not verify (RFC 9162 2.1.4.2)")
    # Search: by the artifact's digest and by the signer's email.
    if a.artifact:
        digest = "sha256:" + hashlib.sha256(Path(a.artifact).read_bytes()).hexdigest()
        status, found = http("POST", a.rekor_url + "/api/v1/index/retrieve", json.dumps({"hash": digest}).encode())
        if status != 200 or uuid not in json.loads(found):
            fail(f"search by {digest}: {status} {found[:200]!r}")
    status, found = http("POST", a.rekor_url + "/api/v1/index/retrieve", json.dumps({"email": a.email}).encode())
    if status != 200 or uuid not in json.loads(found):
        fail(f"search by email {a.email}: {status} {found[:200]!r}")
    print(f"v1 entry {uuid[:16]}… index {live['logIndex']}: SET, inclusion, checkpoint, consistency, search all verify")


def cmd_check_v2(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    bundle = json.loads(Path(a.bundle).read_text())
    e = tlog_entry(bundle)
    if e["kindVersion"] != {"kind": "hashedrekord", "version": "0.0.2"}:
        fail(f"kindVersion {e['kindVersion']}")
    if "timestampVerificationData" not in bundle["verificationMaterial"]:
        fail("a Rekor v2 bundle without an RFC 3161 timestamp")
    origin = host_of(a.rekor_url)
    pub = rekor_v2_key(d)
    log_id = v2_log_id(origin, pub)
    if base64.b64decode(e["logId"]["keyId"]) != log_id:
        fail("bundle logId is not our Rekor v2 key's")
    body = base64.b64decode(e["canonicalizedBody"])
    leaf = hashlib.sha256(b"\x00" + body).digest()
    bp = e["inclusionProof"]
    root, size, index = base64.b64decode(bp["rootHash"]), int(bp["treeSize"]), int(bp["logIndex"])
    if not verify_inclusion(index, size, leaf, [base64.b64decode(h) for h in bp["hashes"]], root):
        fail("v2 inclusion proof does not verify")
    if check_checkpoint_ed25519(bp["checkpoint"]["envelope"], pub, log_id, origin) != (size, root):
        fail("v2 checkpoint does not match the proof")
    # The current tree, rebuilt from the tiles (all leaves fit in the first level-0 tile here).
    status, note = http("GET", a.rekor_url + "/api/v2/checkpoint")
    now_size, now_root = check_checkpoint_ed25519(note.decode(), pub, log_id, origin)
    if now_size > 256:
        fail("this check reads one tile; the test log grew beyond 256 entries")
    suffix = "" if now_size == 256 else f".p/{now_size}"
    status, tile = http("GET", f"{a.rekor_url}/api/v2/tile/0/000{suffix}")
    if status != 200 or len(tile) != 32 * now_size:
        fail(f"tile 0/000{suffix}: {status}, {len(tile)} bytes")
    leaves = [tile[i : i + 32] for i in range(0, len(tile), 32)]
    if mth(leaves) != now_root:
        fail("the root of the level-0 tile is not the checkpoint's root")
    if leaves[index] != leaf:
        fail("the tile's leaf hash at the entry's index is not the entry's")
    print(f"v2 entry index {index}: inclusion, Ed25519 checkpoint, and tiles (size {now_size}) all verify")


def cmd_tamper(a: argparse.Namespace) -> None:
    bundle = json.loads(Path(a.bundle).read_text())

    def flip(b64s: str) -> str:
        raw = bytearray(base64.b64decode(b64s))
        raw[len(raw) // 2] ^= 0x01
        return b64(bytes(raw))

    out = {}
    t = copy.deepcopy(bundle)
    if "messageSignature" in t:
        t["messageSignature"]["signature"] = flip(t["messageSignature"]["signature"])
    else:
        t["dsseEnvelope"]["signatures"][0]["sig"] = flip(t["dsseEnvelope"]["signatures"][0]["sig"])
    out["signature"] = t
    t = copy.deepcopy(bundle)
    p = t["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    p["rootHash"] = flip(p["rootHash"])
    out["proof-root"] = t
    t = copy.deepcopy(bundle)
    e = t["verificationMaterial"]["tlogEntries"][0]
    e["canonicalizedBody"] = flip(e["canonicalizedBody"])
    out["body"] = t
    for name, value in out.items():
        Path(f"{a.out_prefix}.{name}.json").write_text(json.dumps(value))
    print(f"wrote {len(out)} tampered bundles")


def cmd_bad(a: argparse.Namespace) -> None:
    before = get_json(a.rekor_url + "/api/v1/log")["treeSize"]
    status, note = http("GET", a.rekor_url + "/api/v2/checkpoint")
    before_v2 = note.decode().split("\n")[1]
    cases = [
        ("/api/v1/log/entries", b"{not json", 400),
        ("/api/v1/log/entries", json.dumps({"kind": "rpm", "apiVersion": "0.0.1", "spec": {}}).encode(), 400),
        ("/api/v1/log/entries", json.dumps({"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {"data": {}}}).encode(), 400),
        ("/api/v2/log/entries", b"[]", 400),
        ("/api/v2/log/entries", json.dumps({"hashedRekordRequestV002": {"digest": "AAAA"}}).encode(), 400),
    ]
    for path, body, want in cases:
        status, resp = http("POST", a.rekor_url + path, body)
        try:
            err = json.loads(resp)
        except ValueError:
            fail(f"POST {path} {body[:40]!r}: {status}, not JSON: {resp[:200]!r}")
        if status != want or not err.get("message"):
            fail(f"POST {path} {body[:40]!r}: {status} {err}, expected {want} with a message")
    status, resp = http("GET", a.rekor_url + "/api/v1/log/entries/" + "00" * 32)
    if status != 404:
        fail(f"unknown UUID: {status}")
    after = get_json(a.rekor_url + "/api/v1/log")["treeSize"]
    after_v2 = http("GET", a.rekor_url + "/api/v2/checkpoint")[1].decode().split("\n")[1]
    if (before, before_v2) != (after, after_v2):
        fail("a refused request changed a tree")
    print(f"{len(cases) + 1} bad requests refused with JSON errors; trees unchanged")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("trust")
    for f in ("dir", "ct-key", "ct-url", "fulcio-url", "rekor-url", "tsa-url"):
        s.add_argument("--" + f, required=True)
    s = sub.add_parser("token")
    s.add_argument("--dir", required=True)
    s.add_argument("--issuer-url", required=True)
    s.add_argument("--email", default=EMAIL)
    s.add_argument("--rogue", action="store_true")
    s = sub.add_parser("check-v1")
    s.add_argument("--bundle", required=True)
    s.add_argument("--rekor-url", required=True)
    s.add_argument("--kind", default="hashedrekord")
    s.add_argument("--version", default="0.0.1")
    s.add_argument("--artifact")
    s.add_argument("--email", default=EMAIL)
    s = sub.add_parser("check-v2")
    s.add_argument("--bundle", required=True)
    s.add_argument("--rekor-url", required=True)
    s.add_argument("--dir", required=True)
    s = sub.add_parser("tamper")
    s.add_argument("--bundle", required=True)
    s.add_argument("--out-prefix", required=True)
    s = sub.add_parser("bad")
    s.add_argument("--rekor-url", required=True)
    a = p.parse_args()
    {
        "trust": cmd_trust,
        "token": cmd_token,
        "check-v1": cmd_check_v1,
        "check-v2": cmd_check_v2,
        "tamper": cmd_tamper,
        "bad": cmd_bad,
    }[a.cmd](a)


if __name__ == "__main__":
    main()
