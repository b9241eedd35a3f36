#!/usr/bin/env python3
"""Independent checks of a live sigstack CT log, written from RFC 6962 / RFC 9162 alone.

Uses only Python's standard library and `cryptography` (pinned by scripts/interop/ctlog.sh);
nothing here comes from the Rust code under test. Subcommands (all used by ctlog.sh):

  ca            make a throwaway ECDSA P-256 root CA (root.pem, root-key.pem)
  wait          wait until the server answers /healthz
  logkey        the log's public key (PEM) from its private key file, plus a log list
                (the Chrome v3 JSON schema) for certspotter
  submit        make leaf certificates and precertificates (critical poison extension),
                submit them with add-chain / add-pre-chain, and verify every returned SCT
                (RFC 6962 3.2); for each precertificate also build the final certificate with
                the SCT embedded, check `cryptography` parses it back, verify the SCT over
                the final certificate's reconstructed precertificate TBS, and log the final
                certificate too
  verify        verify the whole log: STH signature (3.5), every entry from get-entries
                (paging), the root by a naive MTH (2.1), every inclusion proof (RFC 9162
                2.1.3.2) and consistency proof (2.1.4.2), the SCTs against the logged
                leaves, and the static-ct-api checkpoint, tiles and issuers
  certspotter-wait / certspotter-check
                wait for a certspotter run to verify a given STH, then check what it saw

Each subcommand prints one summary line and exits non-zero on the first failure, saying
what was requested, what came back and which rule it broke.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rfc9162 import leaf_hash, mth, verify_consistency, verify_inclusion

POISON_OID = "1.3.6.1.4.1.11129.2.4.3"
SCT_LIST_OID = "1.3.6.1.4.1.11129.2.4.2"
WATCH_DOMAIN = "interop.sigstack.test"
DER = serialization.Encoding.DER


class Failure(Exception):
    """A check that failed; the message says which and why."""


class Checks:
    """Counts passed checks; `check` raises on the first failure."""

    def __init__(self):
        self.passed = 0
        self.lock = threading.Lock()

    def check(self, cond, what):
        if not cond:
            raise Failure(what)
        with self.lock:
            self.passed += 1


def b64d(s):
    return base64.b64decode(s, validate=True)


def b64e(b):
    return base64.b64encode(b).decode()


def sha256(b):
    return hashlib.sha256(b).digest()


# --- HTTP ---------------------------------------------------------------------


def http(method, url, body=None, expect=200):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    if status != expect:
        raise Failure(f"{method} {url}: HTTP {status}, expected {expect}: {payload[:300]!r}")
    return payload


def get_json(base, path, **params):
    q = ("?" + urllib.parse.urlencode(params)) if params else ""
    raw = http("GET", f"{base}{path}{q}")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise Failure(f"GET {path}{q}: not JSON ({e}): {raw[:200]!r}")


# --- TLS presentation language (RFC 5246 4, as RFC 6962 uses it) -------------------


class Reader:
    def __init__(self, data, what):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Failure(f"{self.what}: truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, len_bytes):
        return self.take(self.uint(len_bytes))

    def end(self):
        if self.pos != len(self.data):
            raise Failure(f"{self.what}: {len(self.data) - self.pos} trailing bytes")


def u(n, width):
    return n.to_bytes(width, "big")


def vec(b, len_bytes):
    return u(len(b), len_bytes) + b


def parse_digitally_signed(raw, what):
    r = Reader(raw, what)
    hash_alg, sig_alg, sig = r.uint(1), r.uint(1), r.vec(2)
    r.end()
    if (hash_alg, sig_alg) != (4, 3):
        raise Failure(f"{what}: algorithms ({hash_alg},{sig_alg}), expected (4 sha256, 3 ecdsa)")
    return sig


def ecdsa_ok(pub, sig, data):
    try:
        pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def sth_signed_data(timestamp, size, root):
    # RFC 6962 3.5: version v1(0), signature_type tree_hash(1), timestamp, tree_size, root.
    return u(0, 1) + u(1, 1) + u(timestamp, 8) + u(size, 8) + root


def parse_leaf_input(raw, what):
    """MerkleTreeLeaf (RFC 6962 3.4) -> dict; also the TimestampedEntry bytes."""
    r = Reader(raw, what)
    version, leaf_type = r.uint(1), r.uint(1)
    if (version, leaf_type) != (0, 0):
        raise Failure(f"{what}: version/leaf_type ({version},{leaf_type}), expected (0,0)")
    leaf = {"timestamp": r.uint(8), "entry_type": r.uint(2)}
    if leaf["entry_type"] == 0:
        leaf["cert"] = r.vec(3)
    elif leaf["entry_type"] == 1:
        leaf["issuer_key_hash"] = r.take(32)
        leaf["tbs"] = r.vec(3)
    else:
        raise Failure(f"{what}: unknown entry_type {leaf['entry_type']}")
    leaf["extensions"] = r.vec(2)
    r.end()
    leaf["timestamped_entry"] = raw[2:]
    return leaf


def parse_cert_list(r):
    inner = Reader(r.vec(3), r.what + " certificate_chain")
    certs = []
    while inner.pos < len(inner.data):
        certs.append(inner.vec(3))
    return certs


def parse_extra_data(entry_type, raw, what):
    r = Reader(raw, what)
    if entry_type == 0:
        out = {"chain": parse_cert_list(r)}
    else:
        out = {"pre_certificate": r.vec(3)}
        out["chain"] = parse_cert_list(r)
    r.end()
    return out


def parse_leaf_index_ext(ext, what):
    """static-ct-api: extensions = one leaf_index extension (type 0, uint40)."""
    r = Reader(ext, what)
    ext_type, data = r.uint(1), r.vec(2)
    r.end()
    if ext_type != 0 or len(data) != 5:
        raise Failure(f"{what}: not a single leaf_index extension: {ext.hex()}")
    return int.from_bytes(data, "big")


def signed_entry_bytes(entry_type, cert=None, issuer_key_hash=None, tbs=None):
    if entry_type == 0:
        return u(0, 2) + vec(cert, 3)
    return u(1, 2) + issuer_key_hash + vec(tbs, 3)


def sct_signed_data(timestamp, signed_entry, extensions):
    # RFC 6962 3.2: sct_version v1(0), signature_type certificate_timestamp(0), timestamp,
    # entry_type + signed_entry, extensions.
    return u(0, 1) + u(0, 1) + u(timestamp, 8) + signed_entry + vec(extensions, 2)


# --- DER (just enough to remove one extension from a TBSCertificate) ----------------


def der_items(buf, what):
    """The TLVs in a DER string, as raw byte strings."""
    out, pos = [], 0
    while pos < len(buf):
        start = pos
        pos += 1
        if pos >= len(buf):
            raise Failure(f"{what}: truncated DER")
        first = buf[pos]
        pos += 1
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            length = int.from_bytes(buf[pos : pos + n], "big")
            pos += n
        pos += length
        if pos > len(buf):
            raise Failure(f"{what}: DER length past the end")
        out.append(buf[start:pos])
    return out


def der_content(tlv):
    first = tlv[1]
    return tlv[2:] if first < 0x80 else tlv[2 + (first & 0x7F) :]


def der_tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def der_oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return der_tlv(0x06, bytes(body))


def tbs_without_extension(tbs, oid, what):
    """The TBSCertificate with the extension `oid` removed (RFC 6962 3.1: the precert TBS)."""
    (seq,) = der_items(tbs, what)
    fields, removed = [], 0
    for field in der_items(der_content(seq), what):
        if field[0] == 0xA3:  # [3] EXPLICIT Extensions
            (exts,) = der_items(der_content(field), what)
            kept = []
            for ext in der_items(der_content(exts), what):
                if der_items(der_content(ext), what)[0] == der_oid(oid):
                    removed += 1
                else:
                    kept.append(ext)
            if kept:
                fields.append(der_tlv(0xA3, der_tlv(0x30, b"".join(kept))))
        else:
            fields.append(field)
    if removed != 1:
        raise Failure(f"{what}: extension {oid} present {removed} times, expected once")
    return der_tlv(0x30, b"".join(fields))


# --- Merkle trees (RFC 6962 2.1, RFC 9162 2.1.3.2 and 2.1.4.2) -----------------------


# --- keys and certificates ------------------------------------------------------------


def load_pub(path):
    with open(path, "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
        raise Failure(f"{path}: the log key must be ECDSA P-256")
    return pub


def spki(pub):
    return pub.public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_der(cert):
    return cert.public_bytes(DER)


def load_ca(d):
    with open(os.path.join(d, "root.pem"), "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(d, "root-key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    return root, key


def cmd_ca(args):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigstack interop test root")])
    now = datetime.datetime.now(datetime.UTC)
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    with open(os.path.join(args.dir, "root.pem"), "wb") as f:
        f.write(root.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(args.dir, "root-key.pem"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    print(f"ct_independent ca: root CA written to {args.dir}")


def cmd_wait(args):
    deadline = time.time() + args.timeout
    while True:
        try:
            http("GET", args.url + "/healthz")
            break
        except (Failure, OSError) as e:
            if time.time() > deadline:
                raise Failure(f"server at {args.url} did not come up in {args.timeout}s: {e}")
            time.sleep(0.1)
    print(f"ct_independent wait: {args.url} is up")


def cmd_logkey(args):
    with open(args.key, "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), None)
    pub = priv.public_key()
    with open(args.out, "wb") as f:
        f.write(
            pub.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    der = spki(pub)
    log_list = {
        "version": "1.0",
        "log_list_timestamp": "2025-01-01T00:00:00Z",
        "operators": [
            {
                "name": "sigstack interop",
                "email": ["nobody@example.invalid"],
                "logs": [
                    {
                        "description": "sigstack interop test log",
                        "log_id": b64e(sha256(der)),
                        "key": b64e(der),
                        "url": args.url + "/",
                        "mmd": 60,
                        "state": {"usable": {"timestamp": "2025-01-01T00:00:00Z"}},
                    }
                ],
            }
        ],
    }
    with open(args.log_list, "w") as f:
        json.dump(log_list, f, indent=1)
    print(f"ct_independent logkey: log ID {b64e(sha256(der))}")


# --- submit ---------------------------------------------------------------------------


class Submitter:
    def __init__(self, args, checks):
        self.url = args.url
        self.root, self.root_key = load_ca(args.dir)
        self.root_der = cert_der(self.root)
        self.issuer_key_hash = sha256(spki(self.root.public_key()))
        self.pub = load_pub(args.pubkey)
        self.log_id = sha256(spki(self.pub))
        self.tag = args.tag
        self.c = checks
        self.records = []
        self.lock = threading.Lock()

    def builder(self, serial, name, key, now):
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        )

    def post(self, endpoint, chain):
        t0 = int(time.time() * 1000)
        raw = http("POST", f"{self.url}/ct/v1/{endpoint}", {"chain": [b64e(c) for c in chain]})
        t1 = int(time.time() * 1000)
        return json.loads(raw), t0, t1

    def check_sct(self, sct, t0, t1, signed_entry, what):
        """RFC 6962 4.1 response fields and 3.2 signature; returns (timestamp, leaf index)."""
        c = self.c
        c.check(sct.get("sct_version") == 0, f"{what}: sct_version {sct.get('sct_version')}")
        c.check(b64d(sct["id"]) == self.log_id, f"{what}: SCT id is not the log ID")
        ts = sct["timestamp"]
        c.check(
            t0 - 5000 <= ts <= t1 + 5000,
            f"{what}: SCT timestamp {ts} outside the request window [{t0}, {t1}] (+-5s)",
        )
        ext = b64d(sct["extensions"])
        index = parse_leaf_index_ext(ext, f"{what} SCT extensions")
        sig = parse_digitally_signed(b64d(sct["signature"]), f"{what} SCT signature")
        c.check(
            ecdsa_ok(self.pub, sig, sct_signed_data(ts, signed_entry, ext)),
            f"{what}: SCT signature does not verify over the RFC 6962 3.2 struct",
        )
        return ts, index

    def record(self, kind, leaf_der, chain_submitted, ts, index, sct, precert_tbs=None):
        rec = {
            "kind": kind,
            "leaf": b64e(leaf_der),
            "chain": [b64e(x) for x in chain_submitted[1:]],
            "timestamp": ts,
            "index": index,
            "sct": sct,
        }
        if precert_tbs is not None:
            rec["tbs"] = b64e(precert_tbs)
        with self.lock:
            self.records.append(rec)

    def chain_for(self, leaf_der, i):
        # Alternate: leaf alone (the log adds the root), and leaf + root.
        return [leaf_der] if i % 2 else [leaf_der, self.root_der]

    def x509_one(self, i):
        now = datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"x509-{self.tag}-{i}.{WATCH_DOMAIN}"
        cert = cert_der(
            self.builder(x509.random_serial_number(), name, key, now).sign(
                self.root_key, hashes.SHA256()
            )
        )
        chain = self.chain_for(cert, i)
        sct, t0, t1 = self.post("add-chain", chain)
        ts, index = self.check_sct(sct, t0, t1, signed_entry_bytes(0, cert=cert), name)
        self.record("x509", cert, chain, ts, index, sct)
        return chain, ts, index

    def precert_one(self, i):
        c = self.c
        now = datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"precert-{self.tag}-{i}.{WATCH_DOMAIN}"
        serial = x509.random_serial_number()
        pre = self.builder(serial, name, key, now).add_extension(
            x509.PrecertPoison(), critical=True
        )
        pre_der = cert_der(pre.sign(self.root_key, hashes.SHA256()))
        pre_cert = x509.load_der_x509_certificate(pre_der)
        tbs = tbs_without_extension(pre_cert.tbs_certificate_bytes, POISON_OID, name)
        chain = self.chain_for(pre_der, i)
        sct, t0, t1 = self.post("add-pre-chain", chain)
        entry = signed_entry_bytes(1, issuer_key_hash=self.issuer_key_hash, tbs=tbs)
        ts, index = self.check_sct(sct, t0, t1, entry, name + " (precert)")
        self.record("precert", pre_der, chain, ts, index, sct, tbs)

        # The final certificate: the poison replaced by the SCT list (RFC 6962 3.3).
        serialized = (
            u(0, 1)
            + b64d(sct["id"])
            + u(ts, 8)
            + vec(b64d(sct["extensions"]), 2)
            + b64d(sct["signature"])
        )
        sct_list = vec(vec(serialized, 2), 2)
        final = self.builder(serial, name, key, now).add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier(SCT_LIST_OID), der_tlv(0x04, sct_list)
            ),
            critical=False,
        )
        final_der = cert_der(final.sign(self.root_key, hashes.SHA256()))
        final_cert = x509.load_der_x509_certificate(final_der)
        (parsed,) = final_cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
        when = parsed.timestamp.replace(tzinfo=datetime.UTC)
        c.check(
            parsed.log_id == self.log_id
            and parsed.entry_type == x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE
            and round(when.timestamp() * 1000) == ts
            and parsed.extension_bytes == b64d(sct["extensions"])
            and isinstance(parsed.signature_hash_algorithm, hashes.SHA256)
            and parsed.signature_algorithm
            == x509.certificate_transparency.SignatureAlgorithm.ECDSA,
            f"{name}: cryptography parses the embedded SCT differently from the JSON one",
        )
        c.check(
            final_cert.tbs_precertificate_bytes == tbs,
            f"{name}: final certificate's precert TBS differs from the precert minus poison",
        )
        # What a TLS client does with an embedded SCT: verify it over the final certificate.
        c.check(
            ecdsa_ok(
                self.pub,
                parsed.signature,
                sct_signed_data(
                    ts,
                    signed_entry_bytes(
                        1,
                        issuer_key_hash=self.issuer_key_hash,
                        tbs=final_cert.tbs_precertificate_bytes,
                    ),
                    parsed.extension_bytes,
                ),
            ),
            f"{name}: embedded SCT does not verify over the final certificate",
        )
        final_chain = self.chain_for(final_der, i)
        fsct, t0, t1 = self.post("add-chain", final_chain)
        fts, findex = self.check_sct(
            fsct, t0, t1, signed_entry_bytes(0, cert=final_der), name + " (final)"
        )
        self.record("x509", final_der, final_chain, fts, findex, fsct)

    def negative(self):
        """Chains the log must refuse (RFC 6962 4.1, 4.2: 4xx with a reason)."""
        now = datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"refused-{self.tag}.{WATCH_DOMAIN}"
        b = self.builder(x509.random_serial_number(), name, key, now)
        plain = cert_der(b.sign(self.root_key, hashes.SHA256()))
        pre = cert_der(
            b.add_extension(x509.PrecertPoison(), critical=True).sign(
                self.root_key, hashes.SHA256()
            )
        )
        other_key = ec.generate_private_key(ec.SECP256R1())
        stranger = cert_der(b.sign(other_key, hashes.SHA256()))
        for endpoint, chain, why in [
            ("add-chain", [pre, self.root_der], "a precertificate to add-chain"),
            ("add-pre-chain", [plain, self.root_der], "a certificate to add-pre-chain"),
            ("add-chain", [stranger], "a chain to no accepted root"),
        ]:
            http("POST", f"{self.url}/ct/v1/{endpoint}", {"chain": [b64e(x) for x in chain]}, 400)
            self.c.check(True, why)


def cmd_submit(args):
    checks = Checks()
    s = Submitter(args, checks)
    first = None
    for i in range(args.precert):
        s.precert_one(i)
    if args.concurrency > 1:
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(s.x509_one, range(args.x509)))
    else:
        results = [s.x509_one(i) for i in range(args.x509)]
    if results:
        first = results[0]
    if args.resubmit and first:
        # RFC 6962 4.1 lets a log answer a duplicate with the SCT it already issued; this log
        # promises to (same timestamp, same leaf index), so the log does not grow.
        chain, ts, index = first
        sct, t0, t1 = s.post("add-chain", chain)
        rts, rindex = s.check_sct(
            sct, t0 - 600_000, t1, signed_entry_bytes(0, cert=chain[0]), "resubmission"
        )
        checks.check(
            (rts, rindex) == (ts, index),
            f"resubmission got (timestamp {rts}, index {rindex}), first time ({ts}, {index})",
        )
    if args.negative:
        s.negative()
    indexes = [r["index"] for r in s.records]
    checks.check(
        len(set(indexes)) == len(indexes),
        f"two submissions got the same leaf index: {sorted(indexes)}",
    )
    with open(args.records, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in sorted(s.records, key=lambda r: r["index"]))
    print(
        f"ct_independent submit: {len(s.records)} entries logged "
        f"({args.x509} add-chain, {args.precert} add-pre-chain + final certificate), "
        f"{checks.passed} checks passed"
    )


# --- verify ---------------------------------------------------------------------------


def tile_path(n):
    """C2SP tlog-tiles index encoding: 3-digit groups, all but the last with an x prefix."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def fetch_sth(url, pub, checks, expect_size=None, timeout=15):
    deadline = time.time() + timeout
    while True:
        sth = get_json(url, "/ct/v1/get-sth")
        if expect_size is None or sth["tree_size"] >= expect_size or time.time() > deadline:
            break
        time.sleep(0.1)  # the log may serve a head up to a moment old
    root = b64d(sth["sha256_root_hash"])
    checks.check(len(root) == 32, "get-sth: sha256_root_hash is not 32 bytes")
    sig = parse_digitally_signed(b64d(sth["tree_head_signature"]), "get-sth tree_head_signature")
    checks.check(
        ecdsa_ok(pub, sig, sth_signed_data(sth["timestamp"], sth["tree_size"], root)),
        f"get-sth: tree_head_signature does not verify (RFC 6962 3.5) for {sth}",
    )
    now = time.time() * 1000
    checks.check(
        now - 3_600_000 < sth["timestamp"] < now + 60_000,
        f"get-sth: timestamp {sth['timestamp']} is not about now ({int(now)})",
    )
    if expect_size is not None:
        checks.check(
            sth["tree_size"] == expect_size,
            f"get-sth: tree_size {sth['tree_size']}, expected {expect_size}",
        )
    return sth["tree_size"], sth["timestamp"], root, sth


def cmd_verify(args):
    c = Checks()
    url = args.url
    pub = load_pub(args.pubkey)
    log_id = sha256(spki(pub))
    root_cert, _ = load_ca(args.dir)
    root_der = cert_der(root_cert)
    issuer_key_hash = sha256(spki(root_cert.public_key()))

    size, sth_ts, root, sth = fetch_sth(url, pub, c, args.expect_size)
    c.check(size > 0, "get-sth: the tree is empty")

    roots = [b64d(x) for x in get_json(url, "/ct/v1/get-roots")["certificates"]]
    c.check(root_der in roots, "get-roots: the test root is not listed")

    # get-entries over the whole tree; the log may return fewer than asked (RFC 6962 4.6).
    entries, pages, start = [], [], 0
    while start < size:
        got = get_json(url, "/ct/v1/get-entries", start=start, end=size - 1)["entries"]
        c.check(
            1 <= len(got) <= size - start,
            f"get-entries?start={start}&end={size - 1}: {len(got)} entries",
        )
        pages.append(len(got))
        entries += got
        start += len(got)
    # A short range in the middle must be the same entries.
    lo, hi = size // 3, min(size - 1, size // 3 + 2)
    mid = get_json(url, "/ct/v1/get-entries", start=lo, end=hi)["entries"]
    c.check(mid == entries[lo : hi + 1], f"get-entries?start={lo}&end={hi} differs")

    leaves, hashes_ = [], []
    for i, e in enumerate(entries):
        what = f"entry {i}"
        leaf_input = b64d(e["leaf_input"])
        leaf = parse_leaf_input(leaf_input, what + " leaf_input")
        leaf["extra"] = parse_extra_data(leaf["entry_type"], b64d(e["extra_data"]), what)
        leaf["input"] = leaf_input
        c.check(
            parse_leaf_index_ext(leaf["extensions"], what + " extensions") == i,
            f"{what}: the leaf_index extension is not {i}",
        )
        c.check(
            leaf["extra"]["chain"] == [root_der],
            f"{what}: extra_data chain is not [the test root]",
        )
        if leaf["entry_type"] == 1:
            pre = leaf["extra"]["pre_certificate"]
            c.check(
                tbs_without_extension(
                    x509.load_der_x509_certificate(pre).tbs_certificate_bytes, POISON_OID, what
                )
                == leaf["tbs"]
                and leaf["issuer_key_hash"] == issuer_key_hash,
                f"{what}: leaf TBS / issuer_key_hash do not match the precertificate in extra_data",
            )
        leaves.append(leaf)
        hashes_.append(leaf_hash(leaf_input))

    # Every logged entry is one we submitted, where its SCT said, and its SCT verifies over
    # the logged leaf: SCT signed data = (0, 0) + the leaf's TimestampedEntry.
    records = {}
    with open(args.records) as f:
        for line in f:
            r = json.loads(line)
            records.setdefault(r["index"], r)
    c.check(
        sorted(records) == list(range(size)),
        f"the log holds {size} entries, the submissions got indexes {sorted(records)[:5]}...",
    )
    for i, leaf in enumerate(leaves):
        r = records[i]
        what = f"entry {i} ({r['kind']})"
        c.check(leaf["timestamp"] == r["timestamp"], f"{what}: timestamp differs from its SCT")
        if r["kind"] == "x509":
            c.check(
                leaf["entry_type"] == 0 and leaf["cert"] == b64d(r["leaf"]),
                f"{what}: not the submitted certificate",
            )
        else:
            c.check(
                leaf["entry_type"] == 1
                and leaf["extra"]["pre_certificate"] == b64d(r["leaf"])
                and leaf["tbs"] == b64d(r["tbs"]),
                f"{what}: not the submitted precertificate",
            )
        sct = r["sct"]
        c.check(b64d(sct["extensions"]) == leaf["extensions"], f"{what}: SCT extensions differ")
        sig = parse_digitally_signed(b64d(sct["signature"]), what + " SCT")
        c.check(
            b64d(sct["id"]) == log_id
            and ecdsa_ok(pub, sig, u(0, 1) + u(0, 1) + leaf["timestamped_entry"]),
            f"{what}: the SCT does not verify over the logged leaf",
        )

    # The root, naively.
    computed = mth(hashes_)
    c.check(
        computed == root,
        f"MTH of the {size} entries is {computed.hex()}, get-sth says {root.hex()}",
    )

    # Inclusion: get-proof-by-hash and get-entry-and-proof for every leaf.
    for i, h in enumerate(hashes_):
        p = get_json(url, "/ct/v1/get-proof-by-hash", hash=b64e(h), tree_size=size)
        path = [b64d(x) for x in p["audit_path"]]
        c.check(p["leaf_index"] == i, f"get-proof-by-hash for leaf {i}: leaf_index {p['leaf_index']}")
        c.check(
            verify_inclusion(i, size, h, path, root),
            f"get-proof-by-hash for leaf {i} in {size}: audit path does not verify (RFC 9162 2.1.3.2)",
        )
        ep = get_json(url, "/ct/v1/get-entry-and-proof", leaf_index=i, tree_size=size)
        c.check(
            ep["leaf_input"] == entries[i]["leaf_input"]
            and ep["extra_data"] == entries[i]["extra_data"]
            and verify_inclusion(i, size, h, [b64d(x) for x in ep["audit_path"]], root),
            f"get-entry-and-proof?leaf_index={i}&tree_size={size}: entry or proof is wrong",
        )

    # Consistency from every smaller tree to this one, and trivial cases.
    for m in range(1, size):
        proof = [b64d(x) for x in get_json(url, "/ct/v1/get-sth-consistency", first=m, second=size)["consistency"]]
        c.check(
            verify_consistency(m, size, mth(hashes_[:m]), root, proof),
            f"get-sth-consistency?first={m}&second={size}: proof does not verify (RFC 9162 2.1.4.2)",
        )
    for first in (0, size):
        got = get_json(url, "/ct/v1/get-sth-consistency", first=first, second=size)["consistency"]
        c.check(got == [], f"get-sth-consistency?first={first}&second={size}: {got}, expected []")

    # An STH saved before more entries were added: still signed, and consistent.
    since = ""
    if args.since:
        with open(args.since) as f:
            old = json.load(f)
        m, old_root = old["tree_size"], b64d(old["sha256_root_hash"])
        old_sig = parse_digitally_signed(b64d(old["tree_head_signature"]), "saved STH")
        c.check(
            ecdsa_ok(pub, old_sig, sth_signed_data(old["timestamp"], m, old_root)),
            "saved STH: signature does not verify",
        )
        c.check(m < size and old["timestamp"] <= sth_ts, f"saved STH ({m}) is not older than {size}")
        proof = [b64d(x) for x in get_json(url, "/ct/v1/get-sth-consistency", first=m, second=size)["consistency"]]
        c.check(
            verify_consistency(m, size, old_root, root, proof),
            f"get-sth-consistency?first={m}&second={size}: does not link the saved STH to the new one",
        )
        for i in range(m):
            p = get_json(url, "/ct/v1/get-proof-by-hash", hash=b64e(hashes_[i]), tree_size=m)
            c.check(
                verify_inclusion(i, m, hashes_[i], [b64d(x) for x in p["audit_path"]], old_root),
                f"get-proof-by-hash for leaf {i} in the saved tree of {m}: does not verify",
            )
        since = f", consistent with the saved STH of size {m}"

    # Negative controls: the checks above can fail.
    h0 = hashes_[0]
    p = get_json(url, "/ct/v1/get-proof-by-hash", hash=b64e(h0), tree_size=size)["audit_path"]
    bad = [b64d(x) for x in p]
    if bad:
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
    c.check(not verify_inclusion(0, size, h0, bad, root), "a tampered audit path verified")
    c.check(
        not ecdsa_ok(pub, parse_digitally_signed(b64d(sth["tree_head_signature"]), "sth"),
                     sth_signed_data(sth_ts, size + 1, root)),
        "an STH signature verified for another tree size",
    )
    if size > 2:
        proof = [b64d(x) for x in get_json(url, "/ct/v1/get-sth-consistency", first=size - 1, second=size)["consistency"]]
        c.check(
            not verify_consistency(size - 1, size, mth(hashes_[1:]), root, proof),
            "a consistency proof verified against the wrong old root",
        )

    # static-ct-api read path: the checkpoint, level-0 tiles, data tiles and issuers.
    static = static_ct_checks(url, pub, c, size, root, hashes_, leaves, root_der)

    if args.save_sth:
        with open(args.save_sth, "w") as f:
            json.dump(sth, f)
    print(
        f"ct_independent verify: tree of {size} entries (pages of {pages}), root "
        f"{root.hex()[:16]}…, all inclusion and consistency proofs{since}, {static}: "
        f"{c.passed} checks passed"
    )


def static_ct_checks(url, pub, c, size, root, hashes_, leaves, root_der):
    note = http("GET", url + "/checkpoint").decode()
    body, _, sigs = note.partition("\n\n")
    lines = body.split("\n")
    origin = lines[0]
    c.check(
        len(lines) >= 3 and int(lines[1]) == size and b64d(lines[2]) == root,
        f"/checkpoint: {lines[1:3]} is not the tree of {size} / {root.hex()}",
    )
    # C2SP static-ct-api: the note signature is key ID (SHA-256(origin \n 0x05 LogID)[:4]) +
    # an RFC6962NoteSignature (timestamp + TreeHeadSignature over the RFC 6962 STH).
    key_id = sha256(origin.encode() + b"\n\x05" + sha256(spki(pub)))[:4]
    found = False
    for line in sigs.strip("\n").split("\n"):
        m = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
        if not m or m.group(1) != origin:
            continue
        raw = b64d(m.group(2))
        if raw[:4] != key_id:
            continue
        r = Reader(raw[4:], "checkpoint signature")
        ts = r.uint(8)
        sig = parse_digitally_signed(r.take(len(raw) - 12), "checkpoint signature")
        found = ecdsa_ok(pub, sig, sth_signed_data(ts, size, root))
    c.check(found, "/checkpoint: no valid RFC6962NoteSignature by the log key")

    tile_hashes, data_hashes, issuers = [], [], set()
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        suffix = tile_path(n) + ("" if width == 256 else f".p/{width}")
        t = http("GET", f"{url}/tile/0/{suffix}")
        c.check(len(t) == 32 * width, f"/tile/0/{suffix}: {len(t)} bytes")
        tile_hashes += [t[k : k + 32] for k in range(0, len(t), 32)]
        r = Reader(http("GET", f"{url}/tile/data/{suffix}"), f"/tile/data/{suffix}")
        for _ in range(width):
            start = r.pos
            r.take(8)
            entry_type = r.uint(2)
            if entry_type == 0:
                r.vec(3)
            else:
                r.take(32)
                r.vec(3)
            r.vec(2)
            te = r.data[start : r.pos]
            if entry_type == 1:
                r.vec(3)  # pre_certificate
            fps = r.vec(2)
            issuers.update(fps[k : k + 32] for k in range(0, len(fps), 32))
            data_hashes.append(leaf_hash(b"\x00\x00" + te))
        r.end()
    c.check(tile_hashes == hashes_, "level-0 tiles differ from the get-entries leaf hashes")
    c.check(data_hashes == hashes_, "data tiles differ from the get-entries leaves")
    for fp in issuers:
        cert = http("GET", f"{url}/issuer/{fp.hex()}")
        c.check(sha256(cert) == fp and cert == root_der, f"/issuer/{fp.hex()}: wrong certificate")
    return f"checkpoint + {len(tile_hashes)} tile hashes + {len(issuers)} issuer(s)"


# --- certspotter ----------------------------------------------------------------------

CS_ERROR = re.compile(r"^\S+ \S+ (error .*)$")


def cs_log_dir(args):
    """certspotter's per-log state directory: logs/<log ID, unpadded base64url>."""
    log_id = base64.urlsafe_b64encode(sha256(spki(load_pub(args.pubkey)))).decode().rstrip("=")
    return os.path.join(args.state, "logs", log_id)


def cs_state(args):
    path = os.path.join(cs_log_dir(args), "state.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd_certspotter_wait(args):
    """Wait until certspotter's state says it verified a tree of --size, or it logs an error."""
    deadline = time.time() + args.timeout
    while True:
        state = cs_state(args)
        sth = (state or {}).get("verified_sth") or {}
        if sth.get("tree_size") == args.size:
            print(f"ct_independent certspotter-wait: certspotter verified the tree of {args.size}")
            return
        with open(args.stderr, errors="replace") as f:
            for line in f:
                m = CS_ERROR.match(line.strip())
                if m:
                    raise Failure(f"certspotter reported: {m.group(1)}")
        try:
            os.kill(args.pid, 0)
        except OSError:
            raise Failure("certspotter exited before verifying the tree")
        if time.time() > deadline:
            raise Failure(f"certspotter did not verify the tree of {args.size} in {args.timeout}s")
        time.sleep(0.1)


def cmd_certspotter_check(args):
    """What certspotter saw must be what the log holds."""
    c = Checks()
    state = cs_state(args)
    c.check(state is not None, "certspotter left no state.json")
    with open(args.sth) as f:
        sth = json.load(f)
    vs = state["verified_sth"]
    c.check(
        vs["tree_size"] == sth["tree_size"]
        and b64d(vs["sha256_root_hash"]) == b64d(sth["sha256_root_hash"]),
        f"certspotter verified {vs}, the log's STH is {sth}",
    )
    c.check(
        state["verified_position"]["size"] == sth["tree_size"]
        and state["download_position"]["size"] == sth["tree_size"],
        f"certspotter positions: {state['verified_position']['size']}, "
        f"{state['download_position']['size']}",
    )
    with open(args.stderr, errors="replace") as f:
        errors = [m.group(1) for m in map(CS_ERROR.match, (l.strip() for l in f)) if m]
    c.check(not errors, f"certspotter reported: {errors}")
    malformed = os.path.join(cs_log_dir(args), "malformed_entries")
    c.check(not os.listdir(malformed), f"certspotter found malformed entries: {os.listdir(malformed)}")

    # The hook script's events: one discovered_cert per entry in [from, size), for the
    # certificate we logged there; a precertificate and its final certificate share a TBS.
    records = {}
    with open(args.records) as f:
        for line in f:
            r = json.loads(line)
            records.setdefault(r["index"], r)
    events = []
    if os.path.exists(args.events):
        with open(args.events) as f:
            events = [l.split() for l in f if l.strip()]
    c.check(all(e[0] == "discovered_cert" for e in events), f"certspotter events: {events}")
    seen = {int(e[1]): e for e in events}
    want = list(range(args.from_index, sth["tree_size"]))
    c.check(
        sorted(seen) == want and len(events) == len(want),
        f"certspotter reported entries {sorted(seen)[:8]}…, expected {len(want)} from {args.from_index}",
    )
    tbs_by_name = {}
    for i in want:
        _, _, cert_sha, tbs_sha = seen[i]
        r = records[i]
        c.check(
            cert_sha == sha256(b64d(r["leaf"])).hex(),
            f"certspotter: entry {i} is not the certificate we logged",
        )
        name = x509.load_der_x509_certificate(b64d(r["leaf"])).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.DNSName)[0]
        tbs_by_name.setdefault(name, set()).add(tbs_sha)
        if r["kind"] == "precert":
            c.check(tbs_sha == sha256(b64d(r["tbs"])).hex(), f"certspotter: entry {i} TBS hash")
    c.check(
        all(len(v) == 1 for v in tbs_by_name.values()),
        "certspotter: a precertificate and its final certificate got different TBS hashes",
    )
    print(
        f"ct_independent certspotter-check: certspotter verified the STH of "
        f"{vs['tree_size']} and reported {len(events)} certificates as logged: "
        f"{c.passed} checks passed"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ca")
    p.add_argument("--dir", required=True)
    p.set_defaults(fn=cmd_ca)

    p = sub.add_parser("wait")
    p.add_argument("--url", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=cmd_wait)

    p = sub.add_parser("logkey")
    p.add_argument("--key", required=True, help="the log's private key (PKCS#8 PEM)")
    p.add_argument("--out", required=True, help="where to write its public key (PEM)")
    p.add_argument("--url", required=True)
    p.add_argument("--log-list", required=True)
    p.set_defaults(fn=cmd_logkey)

    p = sub.add_parser("submit")
    p.add_argument("--url", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--x509", type=int, default=0)
    p.add_argument("--precert", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--resubmit", action="store_true")
    p.add_argument("--negative", action="store_true")
    p.set_defaults(fn=cmd_submit)

    p = sub.add_parser("verify")
    p.add_argument("--url", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--expect-size", type=int)
    p.add_argument("--since", help="an earlier STH (JSON) to check consistency with")
    p.add_argument("--save-sth", help="write the verified STH (JSON) here")
    p.set_defaults(fn=cmd_verify)

    for name, fn in (("certspotter-wait", cmd_certspotter_wait), ("certspotter-check", cmd_certspotter_check)):
        p = sub.add_parser(name)
        p.add_argument("--state", required=True)
        p.add_argument("--pubkey", required=True)
        p.add_argument("--stderr", required=True)
        if name == "certspotter-wait":
            p.add_argument("--size", type=int, required=True)
            p.add_argument("--pid", type=int, required=True)
            p.add_argument("--timeout", type=float, default=60)
        else:
            p.add_argument("--sth", required=True)
            p.add_argument("--records", required=True)
            p.add_argument("--events", required=True)
            p.add_argument("--from-index", type=int, required=True)
        p.set_defaults(fn=fn)

    args = ap.parse_args()
    try:
        args.fn(args)
    except Failure as e:
        print(f"ct_independent {args.cmd}: FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
