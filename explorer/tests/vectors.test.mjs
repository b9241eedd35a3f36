// The page's verification code (assets/merkle.js, verify.js, asn1.js) against the upstream
// vectors in dev/test-vectors/data (provenance in its README.md): RFC 6962 proofs, a Rekor v2
// checkpoint (Ed25519) and inclusion proof from sigstore-conformance, Fulcio certificates of
// the public-good instance. Run with `node --test explorer/tests/` (explorer.sh does).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { leafHash, verifyConsistency, verifyInclusion } from "../assets/merkle.js";
import { ecdsaDerToRaw, parseCheckpoint, verifyCertificate, verifyCheckpoint } from "../assets/verify.js";
import { certificateParts, decodeCertificate, pemBlock } from "../assets/asn1.js";

const DATA = new URL("../../dev/test-vectors/data/", import.meta.url);
const read = (path) => readFileSync(new URL(path, DATA));
const json = (path) => JSON.parse(read(path).toString());
const hex = (h) => Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));

test("every RFC 6962 proof of trees of 1 to 8 leaves", async () => {
  const v = json("merkle/rfc6962-all-proofs-size1-8.json");
  for (const p of v.inclusion_proofs) {
    assert.ok(await verifyInclusion(p.leaf_index, p.tree_size, hex(p.leaf_hash), p.proof.map(hex), hex(p.root)), JSON.stringify(p));
  }
  for (const p of v.consistency_proofs) {
    assert.ok(await verifyConsistency(p.size1, p.size2, p.proof.map(hex), hex(p.root1), hex(p.root2)), JSON.stringify(p));
  }
});

test("a Rekor v2 checkpoint and entry of the staging instance", async () => {
  const trustedRoot = json("bundles/staging-rekor-v2/trusted_root.json");
  const note = read("rekor/v2/hashedrekord-v0.0.2/checkpoint.txt").toString();
  const checked = await verifyCheckpoint(note, trustedRoot);
  assert.ok(checked.ok, checked.reason);
  assert.equal(checked.checkpoint.size, 736);
  // Another tree size under the same signature, and a note from no trusted key, fail.
  assert.ok(!(await verifyCheckpoint(note.replace("\n736\n", "\n737\n"), trustedRoot)).ok);
  assert.ok(!(await verifyCheckpoint(note, { tlogs: trustedRoot.tlogs.slice(0, 1) })).ok);
  // Two signature lines, one by the log's key: that one is enough.
  assert.ok((await verifyCheckpoint(read("rekor/v2/checkpoint-two-sigs-from-origin.txt").toString(), trustedRoot)).ok);
  assert.throws(() => parseCheckpoint("no blank line\n"));

  const entry = json("rekor/v2/hashedrekord-v0.0.2/entry.json");
  const leaf = await leafHash(read("rekor/v2/hashedrekord-v0.0.2/canonical-body.json"));
  assert.deepEqual(leaf, hex(entry.leaf_hash_hex));
  const p = entry.inclusionProof;
  assert.ok(await verifyInclusion(p.logIndex, p.treeSize, leaf, p.hashes_hex.map(hex), checked.checkpoint.root));
});

test("Fulcio certificates: identity, issuer and the Sigstore extensions by name", () => {
  const cert = decodeCertificate(pemBlock(read("fulcio/public-good/leaf-github-actions.pem").toString()));
  assert.equal(cert.oidcIssuer, "https://token.actions.githubusercontent.com");
  assert.match(cert.identity, /^https:\/\/github\.com\/.+@refs\/heads\/main$/);
  const names = cert.sigstore.map((e) => e.name);
  for (const name of ["Build Signer URI", "Source Repository URI", "Source Repository Ref", "Run Invocation URI", "GitHub Workflow Repository"]) {
    assert.ok(names.includes(name), name);
  }
  assert.equal(cert.serial, "73b8a61fb654922066090ee17280b49a8ca9788d");
  assert.equal(cert.notBefore.toISOString(), "2024-12-16T18:42:56.000Z");
  assert.equal(cert.scts.length, 1);
  const email = decodeCertificate(pemBlock(read("fulcio/public-good/leaf-email.pem").toString()));
  assert.equal(email.san[0].type, "email");
  // A CT precertificate entry holds the TBSCertificate alone.
  const tbs = decodeCertificate(new Uint8Array(read("fulcio/public-good/leaf-github-actions.precert-tbs.der")), true);
  assert.equal(tbs.oidcIssuer, cert.oidcIssuer);
  assert.equal(tbs.scts.length, 0);
});

test("ECDSA signatures from DER to WebCrypto's r‖s", () => {
  const der = Uint8Array.of(0x30, 0x08, 0x02, 0x02, 0x00, 0x81, 0x02, 0x02, 0x01, 0x02);
  const raw = ecdsaDerToRaw(der, 32);
  assert.equal(raw.length, 64);
  assert.deepEqual([raw[31], raw[62], raw[63]], [0x81, 0x01, 0x02]);
  assert.equal(ecdsaDerToRaw(Uint8Array.of(0x31, 0, 0, 0, 0, 0, 0, 0), 32), null);
});

test("a public-good certificate: its CA's signature and its SCT verify against trusted_root.json", async () => {
  const trustedRoot = json("bundles/public-good/trusted_root.json");
  const der = pemBlock(read("fulcio/public-good/leaf-github-actions.pem").toString());
  // What the SCT signs: the TBSCertificate without its SCT list, byte for byte.
  assert.deepEqual(certificateParts(der).precertTbs, new Uint8Array(read("fulcio/public-good/leaf-github-actions.precert-tbs.der")));
  const checked = await verifyCertificate(der, trustedRoot);
  assert.ok(checked.ca.ok, checked.ca.detail);
  assert.equal(checked.scts.length, 1);
  assert.ok(checked.scts[0].ok, checked.scts[0].detail);
  // Without the CT log's key, or with another CA, nothing verifies.
  const noCt = await verifyCertificate(der, { ...trustedRoot, ctlogs: [] });
  assert.ok(noCt.ca.ok && !noCt.scts[0].ok);
  const otherCa = await verifyCertificate(der, json("bundles/staging-rekor-v2/trusted_root.json"));
  assert.ok(!otherCa.ca.ok);
});
