#!/usr/bin/env python3
"""Fulcio interop helper: a throwaway OIDC issuer, CA material and trust documents, and the
checks that drive sigstore-python (unmodified) against a live `sigstack fulcio`.

Used by scripts/interop/fulcio.sh; every subcommand exits 0 on success, non-zero with a
reason on stderr otherwise. The certificate request and the SCT verification are always
sigstore-python's own code: this file only builds its inputs (tokens, trust config) and
inspects what it returns or raises.

Subcommands:
  setup     CA key + self-signed root, two issuer keys, fulcio.yaml
  issuer    serve the OIDC discovery document and JWKS of both issuers (until killed)
  wait      wait until a URL answers
  trust     write sigstore-python ClientTrustConfig documents (with our CT key, and a decoy)
  sign      positive path: SigningContext -> signer(); FulcioClient + verify_sct
  refuse    negative paths: unknown issuer, forged token, trusted root without our CT key
  op-sign   a token from a real OpenID Provider -> certificate, identity extensions checked
  op-refuse a (tampered, expired, wrong-audience) token from it -> 401 with the reason
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

CLIENT_ID = "sigstore"
EMAIL = "interop@sigstack.test"
OID_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OID_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OID_PRECERT_POISON = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.3")


def fail(msg: str) -> None:
    print(f"fulcio_client: {msg}", file=sys.stderr)
    sys.exit(1)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def spki_der(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kid_of(key: ec.EllipticCurvePrivateKey) -> str:
    return hashlib.sha256(spki_der(key)).hexdigest()[:16]


# --- setup ---------------------------------------------------------------------------------


def cmd_setup(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstack interop"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sigstack interop fulcio root"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_key(d / "ca-key.pem", ca_key)
    (d / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    for who in ("good", "rogue"):
        write_key(d / f"issuer-{who}.pem", ec.generate_private_key(ec.SECP256R1()))
    # Only the "good" issuer is configured; the rogue one is a working issuer Fulcio doesn't know.
    (d / "fulcio.yaml").write_text(
        "oidc-issuers:\n"
        f"  {a.issuer_url}:\n"
        f"    issuer-url: {a.issuer_url}\n"
        f"    client-id: {CLIENT_ID}\n"
        "    type: email\n"
    )


# --- OIDC issuer ---------------------------------------------------------------------------


def serve_issuer(port: int, key: ec.EllipticCurvePrivateKey) -> ThreadingHTTPServer:
    iss = f"http://127.0.0.1:{port}"
    nums = key.public_key().public_numbers()
    jwks = {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": b64u(nums.x.to_bytes(32, "big")),
                "y": b64u(nums.y.to_bytes(32, "big")),
                "kid": kid_of(key),
                "alg": "ES256",
                "use": "sig",
            }
        ]
    }
    discovery = {
        "issuer": iss,
        "jwks_uri": f"{iss}/jwks",
        "id_token_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    }
    routes = {"/.well-known/openid-configuration": discovery, "/jwks": jwks}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = routes.get(self.path.split("?")[0])
            data = json.dumps(body if body is not None else {"error": "not found"}).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt: str, *args) -> None:
            print(f"issuer {port}: {fmt % args}", file=sys.stderr, flush=True)

    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def cmd_issuer(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    serve_issuer(a.port, load_key(d / "issuer-good.pem"))
    serve_issuer(a.rogue_port, load_key(d / "issuer-rogue.pem"))
    while True:
        time.sleep(3600)


def mint(key: ec.EllipticCurvePrivateKey, iss: str, email: str = EMAIL, kid: str | None = None) -> str:
    now = int(time.time())
    header = {"alg": "ES256", "typ": "JWT", "kid": kid or kid_of(key)}
    claims = {
        "iss": iss,
        "sub": "interop-subject",
        "aud": CLIENT_ID,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "email": email,
        "email_verified": True,
    }
    signing_input = (
        b64u(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64u(json.dumps(claims, separators=(",", ":")).encode())
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


# --- wait ----------------------------------------------------------------------------------


def cmd_wait(a: argparse.Namespace) -> None:
    deadline = time.monotonic() + a.timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(a.url, timeout=2) as r:
                if r.status == 200:
                    return
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    fail(f"{a.url} did not answer within {a.timeout}s ({last})")


# --- trust documents -----------------------------------------------------------------------


def ctlog_entry(base_url: str, der: bytes, start: dt.datetime) -> dict:
    return {
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": base64.b64encode(der).decode(),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": rfc3339(start)},
        },
        "logId": {"keyId": base64.b64encode(hashlib.sha256(der).digest()).decode()},
    }


def trust_config(fulcio_url: str, root: x509.Certificate, ctlogs: list[dict]) -> dict:
    start = root.not_valid_before_utc
    service = {"majorApiVersion": 1, "validFor": {"start": rfc3339(start)}, "operator": "sigstack-interop"}
    return {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "sigstack interop", "commonName": "sigstack interop fulcio root"},
                    "uri": fulcio_url,
                    "certChain": {
                        "certificates": [
                            {"rawBytes": base64.b64encode(root.public_bytes(serialization.Encoding.DER)).decode()}
                        ]
                    },
                    "validFor": {"start": rfc3339(start)},
                }
            ],
            "ctlogs": ctlogs,
            "timestampAuthorities": [],
        },
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [dict(service, url=fulcio_url)],
            "oidcUrls": [],
            # Never contacted: the checks stop once the certificate is issued and its SCT verified.
            "rekorTlogUrls": [dict(service, url="http://127.0.0.1:9")],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [],
            "tsaConfig": {"selector": "ANY"},
        },
    }


def cmd_trust(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    ct_der = spki_der(load_key(Path(a.ct_key)))
    start = root.not_valid_before_utc
    good = trust_config(a.fulcio_url, root, [ctlog_entry(a.ct_url, ct_der, start)])
    decoy = spki_der(ec.generate_private_key(ec.SECP256R1()))
    bad = trust_config(a.fulcio_url, root, [ctlog_entry(a.ct_url, decoy, start)])
    (d / "trust-config.json").write_text(json.dumps(good, indent=1))
    (d / "trust-config-decoy-ct.json").write_text(json.dumps(bad, indent=1))


# --- sigstore-python -----------------------------------------------------------------------


def signing_context(path: Path):
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import SigningContext

    config = ClientTrustConfig.from_json(path.read_text())
    return config, SigningContext.from_trust_config(config)


def sth_size(ct_url: str) -> int:
    with urllib.request.urlopen(f"{ct_url}/ct/v1/get-sth", timeout=10) as r:
        return int(json.load(r)["tree_size"])


def check_cert(cert: x509.Certificate, root: x509.Certificate, iss: str, what: str) -> None:
    """Sanity of what sigstore-python accepted (the SCT itself is sigstore-python's check)."""
    try:
        cert.verify_directly_issued_by(root)
    except Exception as e:  # noqa: BLE001
        fail(f"{what}: certificate not signed by our root: {e!r}")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    emails = san.get_values_for_type(x509.RFC822Name)
    if emails != [EMAIL]:
        fail(f"{what}: SAN emails {emails}, expected [{EMAIL}]")
    try:
        raw = cert.extensions.get_extension_for_oid(OID_ISSUER_V2).value.value
    except x509.ExtensionNotFound:
        fail(f"{what}: no issuer (V2) extension")
    if iss.encode() not in raw:
        fail(f"{what}: issuer extension {raw!r} does not name {iss}")
    try:
        cert.extensions.get_extension_for_oid(OID_PRECERT_POISON)
        fail(f"{what}: the final certificate still carries the precertificate poison")
    except x509.ExtensionNotFound:
        pass
    scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    if len(scts) != 1:
        fail(f"{what}: {len(scts)} embedded SCTs, expected 1")
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    print(f"{what}: serial {cert.serial_number:x}, SAN {emails[0]}, lifetime {life}, 1 SCT", file=sys.stderr)


def cmd_sign(a: argparse.Namespace) -> None:
    from sigstore._internal.fulcio.client import FulcioClient
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.oidc import IdentityToken

    d = Path(a.dir)
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    key = load_key(d / "issuer-good.pem")
    config, ctx = signing_context(d / "trust-config.json")
    before = sth_size(a.ct_url)

    if a.mode == "signer":
        # Public API: Signer(cache=True) requests the certificate from the signing config's CA
        # and verifies its SCT against the trusted root's CT keyring on construction.
        t0 = time.monotonic()
        with ctx.signer(IdentityToken(mint(key, a.issuer_url))) as signer:
            cert = signer._signing_cert()  # the cached certificate (no second request)
        print(f"signer (cache=True): {time.monotonic() - t0:.3f}s", file=sys.stderr)
        check_cert(cert, root, a.issuer_url, "signer(cache=True)")
        t0 = time.monotonic()
        with ctx.signer(IdentityToken(mint(key, a.issuer_url)), cache=False) as signer:
            cert2 = signer._signing_cert()  # request + verify_sct on this call
        print(f"signer (cache=False) _signing_cert(): {time.monotonic() - t0:.3f}s", file=sys.stderr)
        check_cert(cert2, root, a.issuer_url, "signer(cache=False)._signing_cert()")
        if cert2.serial_number == cert.serial_number:
            fail("two requests returned the same certificate")
        issued = 2
    else:
        # Lower level, same code the signer runs: FulcioClient + verify_sct.
        t0 = time.monotonic()
        client = FulcioClient(a.fulcio_url)
        priv = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(priv, hashes.SHA256())
        )
        resp = client.signing_cert.post(csr, IdentityToken(mint(key, a.issuer_url)))
        verify_sct(resp.cert, resp.chain, config.trusted_root.ct_keyring(KeyringPurpose.SIGN))
        print(f"FulcioClient.signing_cert.post + verify_sct: {time.monotonic() - t0:.3f}s", file=sys.stderr)
        check_cert(resp.cert, root, a.issuer_url, "FulcioClient")
        if [c.public_bytes(serialization.Encoding.DER) for c in resp.chain] != [
            root.public_bytes(serialization.Encoding.DER)
        ]:
            fail(f"chain returned is not [our root]: {[c.subject.rfc4514_string() for c in resp.chain]}")
        if resp.cert.public_key().public_numbers() != priv.public_key().public_numbers():
            fail("certificate is not for the CSR's key")
        issued = 1
    after = sth_size(a.ct_url)
    # Each issued certificate logs its precertificate first.
    if after < before + issued:
        fail(f"CT log grew from {before} to {after}, expected at least {issued} new entries")


def cmd_refuse(a: argparse.Namespace) -> None:
    from sigstore._internal.fulcio.client import FulcioClientError
    from sigstore.errors import VerificationError
    from sigstore.oidc import IdentityToken

    d = Path(a.dir)
    good_key = load_key(d / "issuer-good.pem")
    rogue_key = load_key(d / "issuer-rogue.pem")

    if a.case in ("unknown-issuer", "forged"):
        _, ctx = signing_context(d / "trust-config.json")
        if a.case == "unknown-issuer":
            token = mint(rogue_key, a.rogue_url)  # a valid token from an issuer Fulcio doesn't know
            expect = [a.rogue_url]
        else:
            # The known issuer and its key id, but signed with another key.
            token = mint(rogue_key, a.issuer_url, kid=kid_of(good_key))
            expect = []
        try:
            with ctx.signer(IdentityToken(token)):
                pass
        except FulcioClientError as e:
            cause = e.__cause__
            resp = getattr(cause, "response", None)
            if resp is None:
                fail(f"{a.case}: FulcioClientError without an HTTP response: {e!r}")
            status = resp.status_code
            try:
                message = resp.json().get("message", "")
            except ValueError:
                message = ""
            print(
                f"{a.case}: sigstore-python raised FulcioClientError({str(e)!r}); "
                f"HTTP {status} from the server, message {message!r}",
                file=sys.stderr,
            )
            if status != 401:
                fail(f"{a.case}: HTTP {status}, expected 401")
            if not message:
                fail(f"{a.case}: the server's response has no message: {resp.text!r}")
            for s in expect:
                if s not in message:
                    fail(f"{a.case}: server message {message!r} does not name {s}")
            if str(e) != message:
                # sigstore-python 4.5.1 tests `if http_error.response:`, and a requests Response
                # with a 4xx status is falsy, so it raises without the server's message.
                if a.strict_message:
                    fail(f"{a.case}: sigstore-python's error {str(e)!r} does not carry the server's message")
                print(
                    f"{a.case}: note: sigstore-python did not put the server's message in its error "
                    "(its `if http_error.response:` is False for a 4xx Response); the message is on "
                    "the HTTPError it chains",
                    file=sys.stderr,
                )
            return
        fail(f"{a.case}: sigstore-python obtained a certificate")
    elif a.case == "decoy-ct":
        _, ctx = signing_context(d / "trust-config-decoy-ct.json")
        before = sth_size(a.ct_url)
        try:
            with ctx.signer(IdentityToken(mint(good_key, a.issuer_url))):
                pass
        except VerificationError as e:
            print(f"decoy-ct: sigstore-python raised {type(e).__name__}: {e}", file=sys.stderr)
            if "SCT verify failed" not in str(e):
                fail(f"decoy-ct: not the SCT check that failed: {e}")
            if sth_size(a.ct_url) <= before:
                fail("decoy-ct: the CT log did not grow: the certificate was not issued")
            return
        except Exception as e:  # noqa: BLE001
            fail(f"decoy-ct: unexpected {type(e).__name__}: {e}")
        fail("decoy-ct: sigstore-python accepted an SCT from a log not in its trusted root")
    else:
        fail(f"unknown case {a.case}")


# --- tokens from a real OpenID Provider (fulcio_oidc_provider.sh) ----------------------------


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def der_utf8(raw: bytes) -> str:
    """The string of a short DER UTF8String (tag 0x0c, one-byte length)."""
    if len(raw) < 2 or raw[0] != 0x0C or raw[1] != len(raw) - 2:
        fail(f"not a short DER UTF8String: {raw.hex()}")
    return raw[2:].decode()


def check_op_cert(cert: x509.Certificate, root: x509.Certificate, token: str, what: str) -> None:
    """The identity extensions for an `email` issuer, exactly: SAN rfc822Name = the token's
    email, .1.1 (raw) and .1.8 (UTF8String) = its iss, .1.24 (UTF8String) = its sub."""
    claims = jwt_claims(token)
    try:
        cert.verify_directly_issued_by(root)
    except Exception as e:  # noqa: BLE001
        fail(f"{what}: certificate not signed by our root: {e!r}")
    san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    if not san_ext.critical:
        fail(f"{what}: SAN is not critical")
    names = list(san_ext.value)
    if names != [x509.RFC822Name(claims["email"])]:
        fail(f"{what}: SAN {names}, expected only rfc822Name {claims['email']}")
    ext = lambda oid: cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value.value
    want = {
        "1.3.6.1.4.1.57264.1.1": claims["iss"],
        "1.3.6.1.4.1.57264.1.8": claims["iss"],
        "1.3.6.1.4.1.57264.1.24": claims["sub"],
    }
    for oid, value in want.items():
        try:
            raw = ext(oid)
        except x509.ExtensionNotFound:
            fail(f"{what}: no extension {oid}")
        got = raw.decode() if oid.endswith(".1.1") else der_utf8(raw)
        if got != value:
            fail(f"{what}: extension {oid} is {got!r}, expected {value!r}")
    if x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.9") in [e.oid for e in cert.extensions]:
        fail(f"{what}: CI extensions in a certificate for an email issuer")
    scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    if len(scts) != 1:
        fail(f"{what}: {len(scts)} embedded SCTs, expected 1")
    print(
        f"{what}: SAN {claims['email']}, issuer {claims['iss']} in .1.1 and .1.8, sub {claims['sub']} in .1.24, 1 SCT",
        file=sys.stderr,
    )


def cmd_op_sign(a: argparse.Namespace) -> None:
    from sigstore._internal.fulcio.client import FulcioClient
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.oidc import IdentityToken

    d = Path(a.dir)
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    config, ctx = signing_context(d / "trust-config.json")
    token = Path(a.token_file).read_text().strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4)))
    if a.alg and header.get("alg") != a.alg:
        fail(f"the token is signed with {header.get('alg')}, expected {a.alg}")
    print(f"token header: {header}", file=sys.stderr)
    if a.mode == "signer":
        with ctx.signer(IdentityToken(token), cache=False) as signer:
            cert = signer._signing_cert()  # request + verify_sct against the trusted root
        check_op_cert(cert, root, token, "signer(cache=False)._signing_cert()")
    else:
        priv = ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(priv, hashes.SHA256())
        resp = FulcioClient(a.fulcio_url).signing_cert.post(csr, IdentityToken(token))
        verify_sct(resp.cert, resp.chain, config.trusted_root.ct_keyring(KeyringPurpose.SIGN))
        check_op_cert(resp.cert, root, token, "FulcioClient.signing_cert.post + verify_sct")
        if resp.cert.public_key().public_numbers() != priv.public_key().public_numbers():
            fail("certificate is not for the CSR's key")


def cmd_op_refuse(a: argparse.Namespace) -> None:
    from sigstore._internal.fulcio.client import FulcioClientError

    d = Path(a.dir)
    _, _ctx = signing_context(d / "trust-config.json")
    token = Path(a.token_file).read_text().strip()
    before = sth_size(a.ct_url)
    try:
        # sigstore-python itself refuses an expired token or one for another audience before
        # sending it, so the request goes through its FulcioClient directly.
        from sigstore._internal.fulcio.client import FulcioClient

        priv = ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(priv, hashes.SHA256())

        class Unchecked:  # what FulcioClient reads of an IdentityToken: str() = the raw JWT
            def __str__(self) -> str:
                return token

        FulcioClient(a.fulcio_url).signing_cert.post(csr, Unchecked())  # type: ignore[arg-type]
    except FulcioClientError as e:
        resp = getattr(e.__cause__, "response", None)
        if resp is None:
            fail(f"FulcioClientError without an HTTP response: {e!r}")
        message = resp.json().get("message", "")
        print(f"refused: HTTP {resp.status_code}, message {message!r}", file=sys.stderr)
        if resp.status_code != 401:
            fail(f"HTTP {resp.status_code}, expected 401")
        if a.expect.lower() not in message.lower():
            fail(f"server message {message!r} does not say {a.expect!r}")
        if sth_size(a.ct_url) != before:
            fail("the CT log grew: something was issued")
        return
    fail("the CA issued a certificate")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--dir", required=True)
    s.add_argument("--issuer-url", required=True)
    s = sub.add_parser("issuer")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--rogue-port", type=int, required=True)
    s = sub.add_parser("wait")
    s.add_argument("--url", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("trust")
    s.add_argument("--dir", required=True)
    s.add_argument("--ct-key", required=True)
    s.add_argument("--ct-url", required=True)
    s.add_argument("--fulcio-url", required=True)
    for name in ("sign", "refuse"):
        s = sub.add_parser(name)
        s.add_argument("--dir", required=True)
        s.add_argument("--issuer-url", required=True)
        s.add_argument("--rogue-url", required=True)
        s.add_argument("--ct-url", required=True)
        s.add_argument("--fulcio-url", required=True)
        if name == "sign":
            s.add_argument("--mode", choices=["signer", "client"], required=True)
        else:
            s.add_argument("--case", choices=["unknown-issuer", "forged", "decoy-ct"], required=True)
            s.add_argument("--strict-message", action="store_true")
    s = sub.add_parser("op-sign")
    s.add_argument("--dir", required=True)
    s.add_argument("--token-file", required=True)
    s.add_argument("--fulcio-url", required=True)
    s.add_argument("--mode", choices=["signer", "client"], required=True)
    s.add_argument("--alg", help="the JWS algorithm the token must be signed with")
    s = sub.add_parser("op-refuse")
    s.add_argument("--dir", required=True)
    s.add_argument("--token-file", required=True)
    s.add_argument("--fulcio-url", required=True)
    s.add_argument("--ct-url", required=True)
    s.add_argument("--expect", required=True)
    a = p.parse_args()
    {
        "op-sign": cmd_op_sign,
        "op-refuse": cmd_op_refuse,
        "setup": cmd_setup,
        "issuer": cmd_issuer,
        "wait": cmd_wait,
        "trust": cmd_trust,
        "sign": cmd_sign,
        "refuse": cmd_refuse,
    }[a.cmd](a)


if __name__ == "__main__":
    main()
