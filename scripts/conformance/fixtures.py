"""Realistic request data for the conformance suite: keys, signatures, Rekor entries, Fulcio and
TSA requests. Shared by seed.py (run once before schemathesis) and hooks.py (loaded by it)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def hashedrekord(
    key: ec.EllipticCurvePrivateKey, artifact: bytes, *, tamper: bool = False
) -> dict[str, Any]:
    """A hashedrekord 0.0.1 proposed entry signed with KEY (public key, not certificate)."""
    signature = sign(key, artifact)
    if tamper:
        signature = sign(key, artifact + b"!")
    return {
        "kind": "hashedrekord",
        "apiVersion": "0.0.1",
        "spec": {
            "signature": {
                "content": b64(signature),
                "publicKey": {"content": b64(public_pem(key))},
            },
            "data": {
                "hash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(artifact).hexdigest(),
                }
            },
        },
    }


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def csr_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance")])
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return _der(0x02, raw)


SHA256_OID = bytes.fromhex("0609608648016503040201")  # 2.16.840.1.101.3.4.2.1


def timestamp_query(
    digest: bytes, *, nonce: int | None = None, cert_req: bool = True
) -> bytes:
    """An RFC 3161 TimeStampReq (DER) over a SHA-256 DIGEST."""
    algorithm = _der(0x30, SHA256_OID + b"\x05\x00")
    imprint = _der(0x30, algorithm + _der(0x04, digest))
    body = _der_int(1) + imprint
    if nonce is not None:
        body += _der_int(nonce)
    if cert_req:
        body += b"\x01\x01\xff"
    return _der(0x30, body)


def timestamp_json(digest: bytes, *, nonce: int | None = None) -> dict[str, Any]:
    """The JSON timestamp request of upstream's TSA (what sigstore-js sends)."""
    request: dict[str, Any] = {
        "artifactHash": b64(digest),
        "hashAlgorithm": "sha256",
        "certificates": True,
    }
    if nonce is not None:
        request["nonce"] = nonce
    return request


def http_json(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def load() -> dict[str, Any]:
    """The fixtures written by seed.py (path in CONFORMANCE_FIXTURES)."""
    with open(os.environ["CONFORMANCE_FIXTURES"], encoding="utf-8") as f:
        return json.load(f)
