"""Schemathesis hooks: explicit examples carrying realistic data, so that every operation is also
exercised past input validation (entries that exist, valid signatures, a valid identity token).

The examples phase runs these cases through every selected check. Nothing here filters or
rewrites responses, and no failure is suppressed.

Environment: CONFORMANCE_FIXTURES (written by seed.py), CONFORMANCE_TOKEN (an identity token of
the development issuer).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures

_FIXTURES: dict[str, Any] | None = None


def _fx() -> dict[str, Any]:
    global _FIXTURES
    if _FIXTURES is None:
        _FIXTURES = fixtures.load()
    return _FIXTURES


def _token() -> str:
    return os.environ["CONFORMANCE_TOKEN"]


# --- expected statuses of the realistic examples ------------------------------------------------
# Every example below states the status it must get. The `expected_status` check fails a response
# of such an example with any other status (schemathesis reports it with a reproducer), and both
# what was expected and what was observed are written to CONFORMANCE_EXPECTATIONS (JSON lines), so
# that summarize.py also fails an example that never ran.
_EXPECTED: dict[str, dict[str, Any]] = {}
_OBSERVED: set[str] = set()


def _fingerprint(label: str, case: Any) -> str:
    """Identifies an example by what it sends (cases have no room for a tag of ours)."""
    headers = {k.lower(): v for k, v in (case.headers or {}).items()}
    parts = {
        "label": label,
        "method": case.method.upper(),
        "authorization": headers.get("authorization"),
        "path": case.path_parameters or {},
        "query": case.query or {},
        "body": case.body,
    }
    raw = json.dumps(
        parts,
        sort_keys=True,
        default=lambda v: v.hex() if isinstance(v, bytes) else repr(v),
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get("CONFORMANCE_EXPECTATIONS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, sort_keys=True) + "\n")


def _ex(
    op: Any,
    status: int | tuple[int, ...],
    what: str,
    *,
    replay: int | None = None,
    **kwargs: Any,
) -> Any:
    """An explicit example that must be answered `status` (or one of them, where upstream and
    sigstack may differ without harm to clients); `replay`: the status when sent again."""
    allowed = [status] if isinstance(status, int) else list(status)
    case = op.Case(**kwargs)
    key = _fingerprint(op.label, case)
    if key not in _EXPECTED:
        _EXPECTED[key] = {
            "id": key,
            "operation": op.label,
            "what": what,
            "status": allowed,
            "replay": [replay] if replay is not None else allowed,
        }
        _record({"kind": "expected", **_EXPECTED[key]})
    return case


@schemathesis.check
def expected_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """A realistic example (see `_ex`) must get the status it states."""
    key = _fingerprint(case.operation.label, case)
    want = _EXPECTED.get(key)
    if want is None:
        return None
    again = key in _OBSERVED
    _OBSERVED.add(key)
    allowed = want["replay"] if again else want["status"]
    ok = response.status_code in allowed
    _record(
        {
            "kind": "observed",
            "id": key,
            "status": response.status_code,
            "ok": ok,
            "replay": again,
        }
    )
    if not ok:
        expected = " or ".join(map(str, allowed))
        raise AssertionError(
            f"Realistic example '{want['what']}' expects status {expected}, "
            f"got {response.status_code}"
        )
    return True


def _rekor(op: Any) -> list[Any]:
    fx = _fx()
    first = fx["entries"][0]
    label = op.label
    tree_size = fx["treeSize"]
    unknown_uuid = "ab" * 32
    # Rekor names an entry by its entry ID: the tree ID (16 hex digits) then the leaf's UUID (64).
    entry_id = first["uuid"]
    bare_uuid = entry_id[-64:]
    json_body = {"media_type": "application/json"}
    if label == "GET /api/v1/log":
        return [_ex(op, 200, "log info")]
    if label == "GET /api/v1/log/publicKey":
        return [
            _ex(op, 200, "public key of the active tree"),
            _ex(
                op,
                200,
                "public key by the active tree ID",
                query={"treeID": fx["treeID"]},
            ),
            # Upstream answers 400 (its handler maps every error to 400), sigstack 404.
            _ex(
                op,
                (400, 404),
                "public key of an unknown tree ID",
                query={"treeID": "1"},
            ),
        ]
    if label == "GET /api/v1/log/proof":
        return [
            _ex(op, 200, "consistency proof 1..size", query={"lastSize": tree_size}),
            _ex(
                op,
                200,
                "consistency proof with both sizes",
                query={"firstSize": 1, "lastSize": tree_size},
            ),
            _ex(
                op,
                200,
                "consistency proof with the tree ID",
                query={"firstSize": 2, "lastSize": tree_size, "treeID": fx["treeID"]},
            ),
            _ex(
                op,
                400,
                "consistency proof with firstSize > lastSize",
                query={"firstSize": tree_size, "lastSize": 1},
            ),
            _ex(
                op,
                400,
                "consistency proof past the tree size",
                query={"firstSize": 1, "lastSize": tree_size + 1000},
            ),
        ]
    if label == "POST /api/v1/log/entries":
        key = fixtures.new_key()
        artifact = os.urandom(32)
        return [
            # Replayed (schemathesis re-sends a case to confirm a failure), it is a duplicate.
            _ex(
                op,
                201,
                "a fresh valid hashedrekord entry",
                replay=409,
                body=fixtures.hashedrekord(key, artifact),
                **json_body,
            ),
            _ex(
                op,
                409,
                "a duplicate of a seeded entry",
                body=first["proposed"],
                **json_body,
            ),
            _ex(
                op,
                400,
                "an entry with a bad signature",
                body=fixtures.hashedrekord(key, artifact, tamper=True),
                **json_body,
            ),
        ]
    if label == "GET /api/v1/log/entries":
        return [
            _ex(op, 200, "entry by log index", query={"logIndex": first["logIndex"]}),
            _ex(op, 404, "entry by an unknown log index", query={"logIndex": 10**9}),
        ]
    if label == "GET /api/v1/log/entries/{entryUUID}":
        return [
            _ex(op, 200, "entry by entry ID", path_parameters={"entryUUID": entry_id}),
            _ex(
                op,
                200,
                "entry by bare UUID",
                path_parameters={"entryUUID": bare_uuid},
            ),
            _ex(
                op,
                404,
                "entry by an unknown UUID",
                path_parameters={"entryUUID": unknown_uuid},
            ),
        ]
    if label == "POST /api/v1/log/entries/retrieve":
        uuids = [e["uuid"] for e in fx["entries"]]
        return [
            _ex(
                op,
                200,
                "retrieve by entry IDs",
                body={"entryUUIDs": uuids},
                **json_body,
            ),
            _ex(
                op,
                200,
                "retrieve by an unknown UUID",
                body={"entryUUIDs": [unknown_uuid]},
                **json_body,
            ),
            _ex(
                op,
                200,
                "retrieve by log indexes",
                body={"logIndexes": [e["logIndex"] for e in fx["entries"]]},
                **json_body,
            ),
            _ex(
                op,
                200,
                "retrieve by proposed entry",
                body={"entries": [first["proposed"]]},
                **json_body,
            ),
            _ex(
                op,
                200,
                "retrieve by bare UUID and an unknown index",
                body={"entryUUIDs": [bare_uuid], "logIndexes": [10**9]},
                **json_body,
            ),
            # What upstream's Go client sends: every field, null when unset.
            _ex(
                op,
                200,
                "retrieve with null for the unset fields",
                body={"entryUUIDs": uuids[:1], "logIndexes": None, "entries": None},
                **json_body,
            ),
            _ex(
                op,
                400,
                "retrieve with an empty list",
                body={"entryUUIDs": []},
                **json_body,
            ),
        ]
    if label == "POST /api/v1/index/retrieve":
        key = {"format": "x509", "content": fx["publicKeyPem"]}
        return [
            _ex(
                op,
                200,
                "search by sha256: hash",
                body={"hash": "sha256:" + first["sha256"]},
                **json_body,
            ),
            _ex(
                op,
                200,
                "search by bare hash",
                body={"hash": first["sha256"]},
                **json_body,
            ),
            _ex(op, 200, "search by public key", body={"publicKey": key}, **json_body),
            _ex(
                op,
                200,
                "search by hash and public key",
                body={
                    "hash": "sha256:" + first["sha256"],
                    "publicKey": key,
                    "operator": "and",
                },
                **json_body,
            ),
            _ex(
                op,
                200,
                "search by email",
                body={"email": "alice@example.com"},
                **json_body,
            ),
        ]
    return []


def _fulcio(op: Any) -> list[Any]:
    label = op.label
    token = _token()
    claims = fixtures.jwt_claims(token)
    if label in (
        "GET /api/v2/configuration",
        "GET /api/v2/trustBundle",
        "GET /api/v1/rootCert",
    ):
        return [_ex(op, 200, "the document")]
    key = fixtures.new_key()
    pem = fixtures.public_pem(key).decode()
    csr = fixtures.b64(fixtures.csr_pem(key))
    if label == "POST /api/v2/signingCert":
        proof = fixtures.b64(fixtures.sign(key, claims["sub"].encode()))
        creds = {"oidcIdentityToken": token}
        return [
            _ex(
                op,
                200,
                "v2: public key with a valid proof of possession",
                body={
                    "credentials": creds,
                    "publicKeyRequest": {
                        "publicKey": {"algorithm": "ECDSA", "content": pem},
                        "proofOfPossession": proof,
                    },
                },
                media_type="application/json",
            ),
            _ex(
                op,
                200,
                "v2: CSR, token in the body",
                body={"credentials": creds, "certificateSigningRequest": csr},
                media_type="application/json",
            ),
            _ex(
                op,
                200,
                "v2: CSR, token in the Authorization header",
                body={"certificateSigningRequest": csr},
                headers={"Authorization": f"Bearer {token}"},
                media_type="application/json",
            ),
            # A wrong proof of possession (signed over something else than `sub`).
            _ex(
                op,
                400,
                "v2: a wrong proof of possession",
                body={
                    "credentials": creds,
                    "publicKeyRequest": {
                        "publicKey": {"algorithm": "ECDSA", "content": pem},
                        "proofOfPossession": fixtures.b64(
                            fixtures.sign(key, b"not the subject")
                        ),
                    },
                },
                media_type="application/json",
            ),
            # A token that is not a JWT.
            _ex(
                op,
                401,
                "v2: a token that is not a JWT",
                body={
                    "credentials": {"oidcIdentityToken": "x.y.z"},
                    "certificateSigningRequest": csr,
                },
                media_type="application/json",
            ),
        ]
    if label == "POST /api/v1/signingCert":
        subject = claims.get("email", claims["sub"])
        auth = {"Authorization": f"Bearer {token}"}
        return [
            _ex(
                op,
                201,
                "legacy: public key and signed email address",
                body={
                    "publicKey": {
                        "content": fixtures.b64(fixtures.public_der(key)),
                        "algorithm": "ecdsa",
                    },
                    "signedEmailAddress": fixtures.b64(
                        fixtures.sign(key, subject.encode())
                    ),
                },
                headers=auth,
                media_type="application/json",
            ),
            _ex(
                op,
                201,
                "legacy: CSR alone",
                body={"certificateSigningRequest": csr},
                headers=auth,
                media_type="application/json",
            ),
            # Go clients send JSON null for what they leave empty.
            _ex(
                op,
                201,
                "legacy: public key, CSR null",
                body={
                    "publicKey": {
                        "content": fixtures.b64(fixtures.public_der(key)),
                        "algorithm": "ecdsa",
                    },
                    "signedEmailAddress": fixtures.b64(
                        fixtures.sign(key, subject.encode())
                    ),
                    "certificateSigningRequest": None,
                },
                headers=auth,
                media_type="application/json",
            ),
        ]
    return []


def _tsa(op: Any) -> list[Any]:
    label = op.label
    if label == "GET /api/v1/timestamp/certchain":
        return [_ex(op, 200, "the certificate chain")]
    if label == "POST /api/v1/timestamp":
        digest = hashlib.sha256(b"conformance").digest()
        return [
            _ex(
                op,
                200,
                "DER query with nonce and certReq",
                body=fixtures.timestamp_query(digest, nonce=1234567),
                media_type="application/timestamp-query",
            ),
            _ex(
                op,
                200,
                "DER query without certReq",
                body=fixtures.timestamp_query(digest, cert_req=False),
                media_type="application/timestamp-query",
            ),
            _ex(
                op,
                200,
                "JSON query with nonce",
                body=fixtures.timestamp_json(digest, nonce=42),
                media_type="application/json",
            ),
            _ex(
                op,
                200,
                "JSON query without nonce",
                body=fixtures.timestamp_json(digest),
                media_type="application/json",
            ),
        ]
    return []


@schemathesis.serializer("application/timestamp-query")
def _timestamp_query(ctx: Any, value: Any) -> bytes:
    """RFC 3161 requests are raw DER: bytes go as they are, generated strings as UTF-8."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _deviate_rekor(raw: dict[str, Any]) -> None:
    # D1: LogEntry.body is documented `type: object`, but upstream Rekor (and every client)
    # carries the canonical entry as a base64 string there.
    body = raw["definitions"]["LogEntry"]["additionalProperties"]["properties"]["body"]
    body.clear()
    body.update({"type": "string", "format": "byte"})
    # D3: SearchLogQuery's lists are not `x-nullable`, but upstream's Go model marshals every one
    # of them, unset as JSON null (`{"entryUUIDs": [...], "logIndexes": null, "entries": null}`),
    # and upstream's server reads null as absent.
    for prop in raw["definitions"]["SearchLogQuery"]["properties"].values():
        prop["x-nullable"] = True


def _deviate_fulcio_legacy(raw: dict[str, Any]) -> None:
    # D2: the legacy operations return google.api.HttpBody, which grpc-gateway writes raw with
    # the message's own content type (a PEM chain), not as the JSON `apiHttpBody` message the
    # generated document shows; upstream's signingCert answers 201 (kept for old clients).
    pem = {"description": "PEM certificate chain", "schema": {"type": "string"}}
    for path in ("/api/v1/rootCert", "/api/v1/signingCert"):
        for operation in raw["paths"][path].values():
            operation["produces"] = [
                "application/pem-certificate-chain",
                "application/json",
            ]
            operation["responses"]["200"] = pem
            if path == "/api/v1/signingCert":
                operation["responses"]["201"] = pem


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """The deviations from upstream's documents listed in README.md, applied in memory."""
    service = os.environ.get("CONFORMANCE_SERVICE", "")
    if service == "rekor":
        _deviate_rekor(raw_schema)
    elif service == "fulcio-legacy":
        _deviate_fulcio_legacy(raw_schema)


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    op = context.operation
    service = os.environ.get("CONFORMANCE_SERVICE", "")
    if service == "rekor":
        examples.extend(_rekor(op))
    elif service.startswith("fulcio"):
        examples.extend(_fulcio(op))
    elif service == "tsa":
        examples.extend(_tsa(op))


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """Fulcio v2 takes the identity token in the body: give generated requests a valid one, so that
    they get past authentication to the key and proof-of-possession logic. Only a string token is
    replaced (a token of the wrong type stays, for the negative cases)."""
    if (
        context.operation is None
        or context.operation.label != "POST /api/v2/signingCert"
    ):
        return body
    credentials = body.get("credentials") if isinstance(body, dict) else None
    if isinstance(credentials, dict) and isinstance(
        credentials.get("oidcIdentityToken"), str
    ):
        body = {**body, "credentials": {**credentials, "oidcIdentityToken": _token()}}
    return body
