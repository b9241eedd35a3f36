// How the search box reads a term (assets/views.js): what `by=auto` takes a term for, and the
// certificate fingerprint in each form people copy it (bare, `sha256:`, openssl's colons).
// Run with `node --test explorer/tests/` (scripts/interop/explorer.sh does).
import assert from "node:assert/strict";
import { test } from "node:test";
import { classify, fingerprintTerm } from "../assets/views.js";

const HEX = "ab".repeat(32);
const COLONS = Array(32).fill("AB").join(":");

test("auto search: each kind of term goes where it can be found", () => {
  assert.equal(classify("42"), "index");
  assert.equal(classify(COLONS), "fingerprint");
  assert.equal(classify(`sha256:${COLONS}`), "fingerprint");
  assert.equal(classify(`sha256:${HEX}`), "digest-or-fingerprint");
  assert.equal(classify(HEX), "hash-or-uuid");
  assert.equal(classify(`0123456789abcdef${HEX}`), "uuid");
  assert.equal(classify("alice@example.com"), "email");
  assert.equal(classify("-----BEGIN CERTIFICATE-----"), "key");
  assert.equal(classify("nonsense"), "unknown");
  assert.equal(classify(HEX, "fingerprint"), "fingerprint");
});

test("a certificate fingerprint is read in each form, and nothing else is", () => {
  for (const term of [HEX, HEX.toUpperCase(), `sha256:${HEX}`, `SHA256:${COLONS}`, COLONS]) {
    assert.equal(fingerprintTerm(term), HEX, term);
  }
  for (const bad of ["", "ab", HEX.slice(2), `${HEX}ab`, `sha384:${HEX}`, COLONS.slice(3), `${COLONS}:`, "zz".repeat(32), "a:bc".repeat(16)]) {
    assert.equal(fingerprintTerm(bad), null, bad);
  }
});
