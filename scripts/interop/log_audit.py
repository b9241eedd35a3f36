"""Audits a Rekor v1 log against what a load generator was told (rekor-loadgen --record FILE):
every acknowledged entry must be in the log at the index it was given, with an inclusion proof
that verifies against the log's latest tree, and every tree a client was given (size and root of
an acknowledgement's proof) must be a prefix of the latest tree, by a verified consistency proof:
the log lost nothing acknowledged and did not fork.

    python3 log_audit.py --url http://127.0.0.1:3000 --record acks.jsonl entries|consistency

Standard library only, with the RFC 9162 proof verification of rfc9162.py (written from the
RFC). Prints what it checked; exits 1 on the first entry or tree that fails.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import urllib.parse

from rfc9162 import leaf_hash, verify_consistency, verify_inclusion

# Most UUIDs one retrieve request may name (upstream Rekor's maxItems).
RETRIEVE_BATCH = 10


class Rekor:
    """A keep-alive connection to a Rekor v1 API."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)

    def get(self, path: str) -> dict:
        return self.send("GET", path, None)

    def post(self, path: str, body: dict) -> list:
        return self.send("POST", path, body)

    def send(self, method: str, path: str, body: dict | None) -> dict | list:
        headers = {"content-type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        answer = self.conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{method} {path}: {answer.status} {body[:300]!r}")
        return json.loads(body)


def load_record(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def audit_entries(rekor: Rekor, acks: list[dict]) -> str | None:
    for start in range(0, len(acks), RETRIEVE_BATCH):
        batch = acks[start : start + RETRIEVE_BATCH]
        found: dict[str, dict] = {}
        for item in rekor.post("/api/v1/log/entries/retrieve", {"entryUUIDs": [a["uuid"] for a in batch]}):
            found.update(item)
        for ack in batch:
            error = check_entry(ack, found.get(ack["uuid"]))
            if error:
                return error
    return None


def check_entry(ack: dict, entry: dict | None) -> str | None:
    if entry is None:
        return f"{ack['uuid']} (index {ack['index']}) is not in the log"
    if entry["logIndex"] != ack["index"]:
        return f"{ack['uuid']} is at index {entry['logIndex']}, not the {ack['index']} it was given"
    leaf = leaf_hash(base64.b64decode(entry["body"]))
    if not ack["uuid"].endswith(leaf.hex()):
        return f"{ack['uuid']}: the stored body does not hash to the entry's UUID"
    proof = entry["verification"]["inclusionProof"]
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    if not verify_inclusion(proof["logIndex"], proof["treeSize"], leaf, hashes, bytes.fromhex(proof["rootHash"])):
        return f"{ack['uuid']}: its inclusion proof does not verify"
    return None


def audit_consistency(rekor: Rekor, acks: list[dict]) -> tuple[str | None, int]:
    latest = rekor.get("/api/v1/log")
    size2, root2 = latest["treeSize"], bytes.fromhex(latest["rootHash"])
    trees = {(a["tree_size"], a["root_hash"]) for a in acks}
    sizes = {}
    for size1, root1 in trees:
        if sizes.setdefault(size1, root1) != root1:
            return f"two roots were given for tree size {size1}: the log forked", len(trees)
        if size1 > size2:
            return f"tree size {size1} was given, but the log now has only {size2}", len(trees)
        proof = rekor.get(f"/api/v1/log/proof?firstSize={size1}&lastSize={size2}")
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        if not verify_consistency(size1, size2, bytes.fromhex(root1), root2, hashes):
            return f"the tree of size {size1} given to a client is not a prefix of the latest ({size2})", len(trees)
    return None, len(trees)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the Rekor, http://host:port")
    parser.add_argument("--record", required=True, help="rekor-loadgen --record's file")
    parser.add_argument("what", choices=["entries", "consistency"])
    args = parser.parse_args()
    acks = load_record(args.record)
    if not acks:
        print("log-audit: the record holds no acknowledged entry", file=sys.stderr)
        return 1
    rekor = Rekor(args.url)
    if args.what == "entries":
        error = audit_entries(rekor, acks)
        done = f"{len(acks)} acknowledged entries are in the log at their index, with verifying inclusion proofs"
    else:
        error, trees = audit_consistency(rekor, acks)
        done = f"the {trees} trees handed out are all prefixes of the latest one"
    if error:
        print(f"log-audit: {error}", file=sys.stderr)
        return 1
    print(f"log-audit: {done}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
