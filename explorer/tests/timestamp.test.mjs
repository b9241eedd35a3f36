// The page's RFC 3161 check (assets/timestamp.js) against real timestamps of Sigstore's TSAs
// in dev/test-vectors/data/tsa (provenance in its README.md), each with the signature it
// timestamped and the trusted_root.json that holds its TSA; then each part altered in turn.
// Run with `node --test explorer/tests/` (scripts/interop/explorer.sh does).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseTimestamp, verifyTimestamp } from "../assets/timestamp.js";

const DATA = new URL("../../dev/test-vectors/data/", import.meta.url);
const read = (path) => new Uint8Array(readFileSync(new URL(path, DATA)));
const root = (name) => JSON.parse(Buffer.from(read(`bundles/${name}/trusted_root.json`)).toString());
const STAGING = root("staging-rekor-v2");
const PUBLIC_GOOD = root("public-good");

const VECTORS = [
  ["staging/timestamp.sigstage.dev", STAGING, "2025-06-09T11:57:38.000Z"],
  ["staging/timestamp.sigstage.dev.no-certs", STAGING, "2025-08-06T19:03:51.000Z"],
  ["staging/timestamp.sigstage.dev.with-cert", STAGING, "2025-08-06T18:51:36.000Z"],
  ["staging/timestamp.sigstage.dev.issue1482-no-cert", STAGING, "2025-07-25T19:53:04.000Z"],
  ["public-good/timestamp.sigstore.dev", PUBLIC_GOOD, "2025-12-03T18:36:42.000Z"],
];

const failing = (result) => result.steps.filter((s) => !s.ok).map((s) => s.what);

test("real timestamps of Sigstore's TSAs verify, with their time", async () => {
  for (const [name, trustedRoot, time] of VECTORS) {
    const result = await verifyTimestamp(read(`tsa/${name}.tsr`), read(`tsa/${name}.signed-data.bin`), trustedRoot);
    assert.ok(result.ok, `${name}: ${failing(result)}`);
    assert.equal(result.time.toISOString(), time, name);
  }
});

test("a timestamp over another signature, by another TSA, or altered is NOT verified", async () => {
  const [name] = VECTORS[0];
  const tsr = read(`tsa/${name}.tsr`);
  const signature = read(`tsa/${name}.signed-data.bin`);
  const other = Uint8Array.from(signature);
  other[10] ^= 1;
  let result = await verifyTimestamp(tsr, other, STAGING);
  assert.deepEqual(failing(result), ["the message imprint (SHA-256) is the hash of the bundle's signature"]);

  result = await verifyTimestamp(tsr, signature, PUBLIC_GOOD);
  assert.ok(!result.ok && failing(result).includes("it is signed by a TSA certificate of trusted_root.json"));

  // One digit of the signed time changed: the TSTInfo no longer has the signed digest.
  const token = parseTimestamp(tsr);
  const at = tsr.findIndex((_, i) => i >= token.tstInfoDer.byteOffset - tsr.byteOffset && tsr[i] === 0x18) + 2 + 13;
  const altered = Uint8Array.from(tsr);
  altered[at] = altered[at] === 0x30 ? 0x31 : 0x30;
  result = await verifyTimestamp(altered, signature, STAGING);
  assert.deepEqual(failing(result), ["the signed message digest is the hash of the TSTInfo"]);

  // The signature itself altered.
  const bad = Uint8Array.from(tsr);
  bad[tsr.length - 5] ^= 1;
  result = await verifyTimestamp(bad, signature, STAGING);
  assert.ok(!result.ok, "an altered CMS signature");

  result = await verifyTimestamp(Uint8Array.of(0x30, 0x03, 1, 2, 3), signature, STAGING);
  assert.ok(!result.ok && result.time === null);

  // A trusted_root.json whose TSA certificate cannot be read names no signer; nothing throws.
  result = await verifyTimestamp(tsr, signature, { timestampAuthorities: [{ certChain: { certificates: [{ rawBytes: "AAAA" }] } }] });
  assert.ok(!result.ok && failing(result).includes("it is signed by a TSA certificate of trusted_root.json"));
});

test("certificates carried in the token are never trusted: the signer must be a TSA of trusted_root.json", async () => {
  // Upstream's fixture embeds a spoofed TSA certificate beside the real one.
  const result = await verifyTimestamp(read("tsa/negative/response-injected-certs.tsr"), new Uint8Array(8), STAGING);
  assert.ok(!result.ok && failing(result).includes("it is signed by a TSA certificate of trusted_root.json"));
});
