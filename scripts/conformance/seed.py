"""Seeds a fresh stack with real Rekor entries and writes the fixtures hooks.py uses.

Usage: seed.py REKOR_URL OUT.json
Three hashedrekord 0.0.1 entries (ECDSA P-256 public key) are created through
POST /api/v1/log/entries; their UUIDs, log indexes, bodies and keys are recorded with the log's
tree ID and size, so that the examples address entries that exist.
"""

from __future__ import annotations

import json
import os
import sys

import fixtures


def main() -> int:
    rekor, out = sys.argv[1], sys.argv[2]
    key = fixtures.new_key()
    entries = []
    for i in range(3):
        artifact = f"conformance artifact {i} {os.urandom(8).hex()}\n".encode()
        proposed = fixtures.hashedrekord(key, artifact)
        status, answer = fixtures.http_json(
            "POST", f"{rekor}/api/v1/log/entries", proposed
        )
        if status != 201 or not isinstance(answer, dict) or len(answer) != 1:
            print(
                f"seed: creating entry {i} answered {status}: {answer}", file=sys.stderr
            )
            return 1
        ((uuid, entry),) = answer.items()
        entries.append(
            {
                "uuid": uuid,
                "logIndex": entry["logIndex"],
                "proposed": proposed,
                "sha256": proposed["spec"]["data"]["hash"]["value"],
            }
        )
    status, info = fixtures.http_json("GET", f"{rekor}/api/v1/log")
    if status != 200 or not isinstance(info, dict):
        print(f"seed: GET /api/v1/log answered {status}: {info}", file=sys.stderr)
        return 1
    result = {
        "entries": entries,
        "publicKeyPem": fixtures.b64(fixtures.public_pem(key)),
        "treeID": info.get("treeID"),
        "treeSize": info.get("treeSize"),
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(
        f"seed: {len(entries)} entries, tree size {result['treeSize']}, tree ID {result['treeID']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
