"""python-tuf (ngclient, pinned and unmodified) against a `sigstack tuf` repository.

Used by scripts/interop/tuf.sh:

  tuf_client.py fetch --url URL --workdir DIR [--bootstrap ROOT] --target NAME=EXPECTED_FILE...
      [--expect-root-version N] [--expect-error ExceptionName]
  tuf_client.py probe --url URL --status CODE [--content-type T] [--cache-control-has S]
  tuf_client.py wait --url URL --timeout SECONDS

`fetch` keeps the client's metadata in WORKDIR/metadata between runs, as a real client does:
the first run (no WORKDIR/metadata/root.json) is bootstrapped with the given root bytes, later
runs start from the root the client already trusts (root rotation is then walked from there).
With --expect-error the command succeeds only if refresh/download raises that exception class.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

from tuf.ngclient import Updater


def fetch(args: argparse.Namespace) -> int:
    metadata_dir = os.path.join(args.workdir, "metadata")
    target_dir = os.path.join(args.workdir, "targets")
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(target_dir, exist_ok=True)
    bootstrap = None
    if not os.path.exists(os.path.join(metadata_dir, "root.json")):
        if not args.bootstrap:
            print("no trusted root yet and no --bootstrap", file=sys.stderr)
            return 2
        with open(args.bootstrap, "rb") as f:
            bootstrap = f.read()
    try:
        updater = Updater(
            metadata_dir=metadata_dir,
            metadata_base_url=args.url,
            target_base_url=args.url + "/targets/",
            target_dir=target_dir,
            bootstrap=bootstrap,
        )
        updater.refresh()
        for spec in args.target:
            name, expected_file = spec.split("=", 1)
            info = updater.get_targetinfo(name)
            if info is None:
                print(f"target {name} not found", file=sys.stderr)
                return 1
            # Always download (never the cached copy), into a fresh path.
            path = os.path.join(target_dir, f"{time.time_ns()}.{name}")
            got = updater.download_target(info, filepath=path)
            with open(got, "rb") as f, open(expected_file, "rb") as e:
                if f.read() != e.read():
                    print(f"target {name}: content differs from {expected_file}", file=sys.stderr)
                    return 1
            custom = (info.custom or {}).get("sigstore", {})
            print(f"downloaded {name} ({info.length} bytes, sigstore custom {custom})")
    except Exception as e:  # noqa: BLE001 - the class name is what is checked
        if args.expect_error and type(e).__name__ == args.expect_error:
            print(f"refused as expected: {type(e).__name__}: {e}")
            return 0
        print(f"python-tuf: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if args.expect_error:
        print(f"expected {args.expect_error}, but everything succeeded", file=sys.stderr)
        return 1
    with open(os.path.join(metadata_dir, "root.json"), "rb") as f:
        version = json.load(f)["signed"]["version"]
    print(f"trusted root version {version}")
    if args.expect_root_version is not None and version != args.expect_root_version:
        print(f"expected trusted root version {args.expect_root_version}", file=sys.stderr)
        return 1
    return 0


def probe(args: argparse.Namespace) -> int:
    try:
        with urllib.request.urlopen(args.url, timeout=10) as resp:
            status, headers = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        status, headers = e.code, e.headers
    problems = []
    if status != args.status:
        problems.append(f"status {status}, want {args.status}")
    if args.content_type and headers.get("Content-Type") != args.content_type:
        problems.append(f"Content-Type {headers.get('Content-Type')!r}, want {args.content_type!r}")
    if args.cache_control_has and args.cache_control_has not in (headers.get("Cache-Control") or ""):
        problems.append(
            f"Cache-Control {headers.get('Cache-Control')!r} lacks {args.cache_control_has!r}"
        )
    for p in problems:
        print(f"{args.url}: {p}", file=sys.stderr)
    return 1 if problems else 0


def wait(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=2):
                return 0
        except OSError:
            time.sleep(0.2)
    print(f"{args.url} did not answer within {args.timeout}s", file=sys.stderr)
    return 1


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--url", required=True)
    f.add_argument("--workdir", required=True)
    f.add_argument("--bootstrap")
    f.add_argument("--target", action="append", default=[])
    f.add_argument("--expect-root-version", type=int)
    f.add_argument("--expect-error")
    pr = sub.add_parser("probe")
    pr.add_argument("--url", required=True)
    pr.add_argument("--status", type=int, required=True)
    pr.add_argument("--content-type")
    pr.add_argument("--cache-control-has")
    w = sub.add_parser("wait")
    w.add_argument("--url", required=True)
    w.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    return {"fetch": fetch, "probe": probe, "wait": wait}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
