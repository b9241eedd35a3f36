// What the browser checks itself, with WebCrypto, against the keys of trusted_root.json: the
// signature of a log's checkpoint (C2SP signed note: ECDSA P-256 or Ed25519) or of a CT log's
// signed tree head (RFC 6962 TreeHeadSignature), Rekor v1's signed entry timestamp, and,
// across visits, that each new checkpoint is consistent with the last one this browser saw.

import { equalBytes, fetchJSON, fromBase64, sha256, toHex, utf8 } from "./util.js";
import { verifyConsistency } from "./merkle.js";
import { certificateParts, decodeCertificate, spkiCurve } from "./asn1.js";

/** trusted_root.json: the explorer's pinned copy (`--trusted-root`) when it has one, else the
 * target of the TUF repository, whose SHA-256 must match its targets metadata. */
export async function loadTrustedRoot() {
  const pinned = await fetch("/trusted_root.json");
  if (pinned.ok) return { root: await pinned.json(), source: "pinned by the explorer (--trusted-root)" };
  const timestamp = await fetchJSON("tuf", "timestamp.json");
  const snapshotVersion = timestamp.signed.meta["snapshot.json"].version;
  const snapshot = await fetchJSON("tuf", `${snapshotVersion}.snapshot.json`);
  const targetsVersion = snapshot.signed.meta["targets.json"].version;
  const targets = await fetchJSON("tuf", `${targetsVersion}.targets.json`);
  const info = targets.signed.targets["trusted_root.json"];
  if (!info) throw new Error("the TUF repository has no trusted_root.json target");
  const want = info.hashes.sha256;
  const bytes = new Uint8Array(
    await (await fetch(`/proxy/tuf/targets/${want}.trusted_root.json`)).arrayBuffer(),
  );
  if (toHex(await sha256(bytes)) !== want) throw new Error("trusted_root.json does not match its TUF targets hash");
  return {
    root: JSON.parse(new TextDecoder().decode(bytes)),
    source: `TUF targets version ${targetsVersion} (hash checked; role signatures are checked by TUF clients)`,
  };
}

/** A WebCrypto verifier for a trusted_root public key: `verify(signature, message)` where an
 * ECDSA signature is DER, as logs write them. */
export async function importKey(publicKey) {
  const der = fromBase64(publicKey.rawBytes);
  const details = publicKey.keyDetails || "";
  if (details.includes("ED25519")) {
    const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    return { algorithm: "Ed25519", verify: (sig, msg) => crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg) };
  }
  if (details.includes("ECDSA_P256")) {
    const key = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return {
      algorithm: "ECDSA P-256",
      verify: async (sig, msg) => {
        const raw = ecdsaDerToRaw(sig, 32);
        return raw !== null && crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, msg);
      },
    };
  }
  if (details.includes("ECDSA_P384")) {
    const key = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-384" }, false, ["verify"]);
    return {
      algorithm: "ECDSA P-384",
      verify: async (sig, msg) => {
        const raw = ecdsaDerToRaw(sig, 48);
        return raw !== null && crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, raw, msg);
      },
    };
  }
  throw new Error(`key type ${details || "(none)"} is not supported`);
}

/** The fixed-width r‖s WebCrypto takes, from an ECDSA-Sig-Value DER; null if malformed. */
export function ecdsaDerToRaw(der, width) {
  if (der[0] !== 0x30 || der.length < 8) return null;
  let at = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  const out = new Uint8Array(2 * width);
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02) return null;
    const len = der[at + 1];
    let int = der.subarray(at + 2, at + 2 + len);
    while (int.length > width && int[0] === 0) int = int.subarray(1);
    if (int.length > width) return null;
    out.set(int, i * width + width - int.length);
    at += 2 + len;
  }
  return at === der.length ? out : null;
}

/** A C2SP signed note split into its text, its checkpoint fields and its signature lines. */
export function parseCheckpoint(note) {
  const split = note.indexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("not a signed note (no blank line before the signatures)");
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  const size = Number(lines[1]);
  if (!/^\d+$/.test(lines[1] || "")) throw new Error("the checkpoint's second line is not a tree size");
  const signatures = note
    .slice(split + 2)
    .split("\n")
    .filter((l) => l)
    .map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error(`not a signature line: ${line.slice(0, 40)}`);
      const blob = fromBase64(m[2]);
      return { name: m[1], hint: blob.subarray(0, 4), signature: blob.subarray(4) };
    });
  return { text, origin: lines[0], size, root: fromBase64(lines[2]), signatures };
}

/** Checks a checkpoint note against the transparency logs of `trustedRoot`: a signature line
 * whose key hint (the first 4 bytes of the log's key id) names a trusted log key, and that
 * key's valid signature over the note text. Returns {ok, checkpoint, key, reason}. */
export async function verifyCheckpoint(note, trustedRoot) {
  let checkpoint;
  try {
    checkpoint = parseCheckpoint(note);
  } catch (e) {
    return { ok: false, reason: e.message };
  }
  for (const sig of checkpoint.signatures) {
    for (const log of trustedRoot.tlogs || []) {
      const keyId = fromBase64(log.logId.keyId);
      if (!equalBytes(keyId.subarray(0, 4), sig.hint)) continue;
      try {
        const key = await importKey(log.publicKey);
        if (await key.verify(sig.signature, utf8.encode(checkpoint.text))) {
          return { ok: true, checkpoint, key: `${key.algorithm} key ${toHex(keyId).slice(0, 16)}… (${log.baseUrl})` };
        }
      } catch {
        // a key this browser cannot use: try the next
      }
    }
  }
  return { ok: false, checkpoint, reason: "no signature by a log key of trusted_root.json verifies" };
}

/** Checks a CT log's get-sth answer against the CT log keys of `trustedRoot`. */
export async function verifySth(sth, trustedRoot) {
  const signed = fromBase64(sth.tree_head_signature);
  // DigitallySigned: hash algorithm 4 (SHA-256), signature algorithm 3 (ECDSA), 16-bit length.
  if (signed[0] !== 4 || signed[1] !== 3) return { ok: false, reason: "the STH is not signed with ECDSA over SHA-256" };
  const signature = signed.subarray(4, 4 + ((signed[2] << 8) | signed[3]));
  const root = fromBase64(sth.sha256_root_hash);
  const message = new Uint8Array(50);
  const view = new DataView(message.buffer);
  message[0] = 0; // v1
  message[1] = 1; // tree_hash
  view.setBigUint64(2, BigInt(sth.timestamp));
  view.setBigUint64(10, BigInt(sth.tree_size));
  message.set(root, 18);
  for (const log of trustedRoot.ctlogs || []) {
    try {
      const key = await importKey(log.publicKey);
      if (await key.verify(signature, message)) {
        return { ok: true, key: `${key.algorithm} key ${toHex(fromBase64(log.logId.keyId)).slice(0, 16)}…`, size: sth.tree_size, root };
      }
    } catch {
      // not this key
    }
  }
  return { ok: false, reason: "no CT log key of trusted_root.json verifies the signed tree head" };
}

/** Rekor v1's signed entry timestamp: the log key's signature over the RFC 8785 JSON of
 * body, integratedTime, logID and logIndex (their canonical order is alphabetical, and none
 * holds a character JSON.stringify would escape differently). */
export async function verifySet(entry, trustedRoot) {
  const set = entry.verification?.signedEntryTimestamp;
  if (!set) return { ok: false, reason: "the entry has no signed entry timestamp" };
  const log = (trustedRoot.tlogs || []).find((l) => toHex(fromBase64(l.logId.keyId)) === entry.logID);
  if (!log) return { ok: false, reason: `log ${entry.logID.slice(0, 16)}… is not in trusted_root.json` };
  const payload = JSON.stringify({
    body: entry.body,
    integratedTime: entry.integratedTime,
    logID: entry.logID,
    logIndex: entry.logIndex,
  });
  const key = await importKey(log.publicKey);
  return (await key.verify(fromBase64(set), utf8.encode(payload)))
    ? { ok: true }
    : { ok: false, reason: "the signed entry timestamp does not verify" };
}

// --- what this browser saw before --------------------------------------------------------

const HISTORY_LIMIT = 500;
const historyKey = (log, origin) => `sigstack-explorer:history:${log}:${origin}`;

/** The checkpoints of `log` (origin `origin`) this browser has seen, oldest first. */
export function history(log, origin) {
  try {
    return JSON.parse(localStorage.getItem(historyKey(log, origin)) || "[]");
  } catch {
    return [];
  }
}

/** Every history kept, as {log, origin, points}. */
export function allHistories() {
  const out = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    const m = /^sigstack-explorer:history:([^:]+):(.*)$/.exec(key || "");
    if (m) out.push({ log: m[1], origin: m[2], points: history(m[1], m[2]) });
  }
  return out;
}

/** Compares a verified tree head (`size`, `root`) of `log` with the last one this browser saw
 * and records it: the same size must have the same root; a larger one must come with a
 * consistency proof (`proofFor(oldSize)` fetches it); a smaller one means the log shrank.
 * Returns {status: "first" | "same" | "consistent" | "INCONSISTENT", detail}. */
export async function checkAgainstHistory(log, origin, size, root, proofFor) {
  const points = history(log, origin);
  const last = points[points.length - 1];
  let result;
  if (!last) {
    result = { status: "first", detail: "first checkpoint this browser sees of this log" };
  } else {
    const lastRoot = fromBase64(last.root);
    if (size === last.size) {
      result = equalBytes(root, lastRoot)
        ? { status: "same", detail: `same tree as seen at ${new Date(last.seen).toISOString()}` }
        : { status: "INCONSISTENT", detail: `two different roots for tree size ${size}` };
    } else if (size < last.size) {
      result = { status: "INCONSISTENT", detail: `the log shrank from ${last.size} to ${size} entries` };
    } else {
      try {
        const proof = await proofFor(last.size, size);
        result = (await verifyConsistency(last.size, size, proof, lastRoot, root))
          ? { status: "consistent", detail: `consistent with size ${last.size} seen at ${new Date(last.seen).toISOString()}` }
          : { status: "INCONSISTENT", detail: `the consistency proof from size ${last.size} does not verify` };
      } catch (e) {
        result = { status: "unchecked", detail: `no consistency proof from size ${last.size}: ${e.message}` };
      }
    }
  }
  if (result.status !== "INCONSISTENT" && (!last || last.size !== size)) {
    points.push({ size, root: btoa(String.fromCharCode(...root)), seen: Date.now() });
    localStorage.setItem(historyKey(log, origin), JSON.stringify(points.slice(-HISTORY_LIMIT)));
  }
  return result;
}


// --- certificates ------------------------------------------------------------------------

const SIGNATURE_HASHES = { "1.2.840.10045.4.3.2": "SHA-256", "1.2.840.10045.4.3.3": "SHA-384" };

/** Verifies an ECDSA signature (DER) by the EC key `spki` (DER) over `message`. */
async function verifyEcdsaSpki(spki, hash, signature, message) {
  const curve = spkiCurve(spki);
  if (!curve || !hash) return false;
  const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, false, ["verify"]);
  const raw = ecdsaDerToRaw(signature, curve === "P-256" ? 32 : 48);
  return raw !== null && crypto.subtle.verify({ name: "ECDSA", hash }, key, raw, message);
}

/** Checks a leaf certificate (DER) against the certificate authorities of `trustedRoot`: its
 * issuer is the first certificate of a CA's chain, whose key signed it; then each embedded SCT
 * is signed by a CT log key of `trustedRoot` over the precertificate (RFC 6962 §3.2).
 * Returns {ca: {ok, detail}, scts: [{ok, detail}]}. */
export async function verifyCertificate(der, trustedRoot) {
  const leaf = certificateParts(der);
  let issuer = null;
  for (const ca of trustedRoot.certificateAuthorities || []) {
    const first = ca.certChain?.certificates?.[0]?.rawBytes;
    if (!first) continue;
    const candidate = certificateParts(fromBase64(first));
    if (equalBytes(candidate.subject, leaf.issuer)) {
      issuer = { parts: candidate, uri: ca.uri || ca.subject?.commonName || "a CA" };
      break;
    }
  }
  const result = { ca: { ok: false, detail: "its issuer is no CA of trusted_root.json" }, scts: [] };
  if (issuer) {
    const ok = await verifyEcdsaSpki(issuer.parts.spki, SIGNATURE_HASHES[leaf.signatureAlgorithm], leaf.signature, leaf.tbs).catch(() => false);
    result.ca = { ok, detail: ok ? `signed by ${issuer.uri}` : `its signature does not verify with the key of ${issuer.uri}` };
  }
  const cert = decodeCertificate(der);
  for (const sct of cert.scts) {
    const log = (trustedRoot.ctlogs || []).find((l) => equalBytes(fromBase64(l.logId.keyId), sct.logId));
    if (!log) {
      result.scts.push({ ok: false, detail: `log ${toHex(sct.logId).slice(0, 16)}… is not in trusted_root.json` });
      continue;
    }
    if (!issuer) {
      result.scts.push({ ok: false, detail: "the issuer's key is needed to check it" });
      continue;
    }
    const tbs = leaf.precertTbs;
    const signed = new Uint8Array(2 + 8 + 2 + 32 + 3 + tbs.length + 2 + sct.extensions.length);
    const view = new DataView(signed.buffer);
    view.setBigUint64(2, BigInt(sct.timestamp)); // version 0, certificate_timestamp 0
    view.setUint16(10, 1); // precert_entry
    signed.set(await sha256(issuer.parts.spki), 12);
    signed.set([tbs.length >> 16, (tbs.length >> 8) & 0xff, tbs.length & 0xff], 44);
    signed.set(tbs, 47);
    // The SCT's own extensions close the signed data (a static-ct-api log's leaf index).
    view.setUint16(47 + tbs.length, sct.extensions.length);
    signed.set(sct.extensions, 49 + tbs.length);
    let ok = false;
    try {
      ok = await (await importKey(log.publicKey)).verify(sct.signature, signed);
    } catch {
      ok = false;
    }
    result.scts.push({ ok, detail: `${ok ? "signed by" : "does NOT verify with"} CT log ${toHex(sct.logId).slice(0, 16)}… at ${new Date(sct.timestamp).toISOString()}` });
  }
  return result;
}
