// The three logs the explorer reads, each through its own public API (by way of the
// explorer's read-only proxy): Rekor v1 (entries with their proofs), Rekor v2 (C2SP
// tlog-tiles only) and the CT log (RFC 6962). Each entry is returned with a `verification`
// the browser computed: every step named, with whether it passed.

import { TileReader, leafHash, rootFromInclusionProof, verifyInclusion } from "./merkle.js";
import { checkAgainstHistory, verifyCheckpoint, verifySet, verifySth } from "./verify.js";
import {
  ServiceError,
  equalBytes,
  fetchJSON,
  fetchService,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
} from "./util.js";

const proofHashes = (list, decode) => list.map(decode);

/** The state of a log now: its verified checkpoint and how it relates to what this browser
 * saw before. */
async function treeState(log, fetchHead, proofFor) {
  const head = await fetchHead();
  if (!head.ok) return head;
  const origin = head.origin;
  head.history = await checkAgainstHistory(log, origin, head.size, head.root, proofFor);
  return head;
}

// --- Rekor v1 ---------------------------------------------------------------------------

export const rekorV1 = {
  name: "rekor",
  title: "Rekor v1",

  /** The active shard's signed checkpoint, verified. */
  async head(trustedRoot) {
    return treeState(
      "rekor",
      async () => {
        const info = await fetchJSON("rekor", "api/v1/log");
        const checked = await verifyCheckpoint(info.signedTreeHead, trustedRoot);
        return {
          ...checked,
          origin: checked.checkpoint?.origin || "rekor",
          size: Number(info.treeSize),
          root: fromHex(info.rootHash),
          note: info.signedTreeHead,
          treeID: info.treeID,
        };
      },
      async (first, last) => {
        if (first === 0) return [];
        const proof = await fetchJSON("rekor", `api/v1/log/proof?firstSize=${first}&lastSize=${last}`);
        return proofHashes(proof.hashes || [], fromHex);
      },
    );
  },

  /** Entries as {uuid, entry} for a list of `{logIndexes}` or `{entryUUIDs}` (10 at a time). */
  async retrieve(criteria) {
    const [field, values] = Object.entries(criteria)[0];
    const out = [];
    for (let i = 0; i < values.length; i += 10) {
      const page = await fetchJSON("rekor", "api/v1/log/entries/retrieve", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ [field]: values.slice(i, i + 10) }),
      });
      for (const item of page) for (const [uuid, entry] of Object.entries(item)) out.push({ uuid, entry });
    }
    return out;
  },

  async byIndex(index) {
    const answer = await fetchJSON("rekor", `api/v1/log/entries?logIndex=${encodeURIComponent(index)}`);
    const [uuid, entry] = Object.entries(answer)[0];
    return { uuid, entry };
  },

  async byUuid(uuid) {
    const answer = await fetchJSON("rekor", `api/v1/log/entries/${encodeURIComponent(uuid)}`);
    const [found, entry] = Object.entries(answer)[0];
    return { uuid: found, entry };
  },

  /** UUIDs matching one search criterion of the index API. */
  async search(criterion) {
    return fetchJSON("rekor", "api/v1/index/retrieve", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(criterion),
    });
  },

  /** The newest `count` entries, newest first. */
  async latest(size, count, before = size) {
    const indexes = [];
    for (let i = before - 1; i >= 0 && indexes.length < count; i--) indexes.push(i);
    return this.retrieve({ logIndexes: indexes });
  },

  /** Checks an entry: its leaf hash is its UUID, its inclusion proof leads to the proof's
   * root, that root is the one a checkpoint signed by the log key names, and its signed entry
   * timestamp verifies. */
  async verify({ uuid, entry }, trustedRoot) {
    const steps = [];
    const step = (what, ok, detail = "") => steps.push({ what, ok, detail });
    const body = fromBase64(entry.body);
    const leaf = await leafHash(body);
    step("the leaf hash of the body is the entry's UUID", uuid.toLowerCase().endsWith(toHex(leaf)), toHex(leaf));
    const proof = entry.verification?.inclusionProof;
    if (!proof) {
      step("the entry comes with an inclusion proof", false);
    } else {
      const root = fromHex(proof.rootHash);
      const computed = await rootFromInclusionProof(proof.logIndex, proof.treeSize, leaf, proofHashes(proof.hashes, fromHex));
      step(
        `the inclusion proof leads from leaf ${proof.logIndex} to the root of the tree of ${proof.treeSize}`,
        computed !== null && equalBytes(computed, root),
        computed ? `computed ${toHex(computed)}` : "the proof has the wrong length",
      );
      const cp = await verifyCheckpoint(proof.checkpoint || "", trustedRoot);
      step("the checkpoint is signed by a Rekor key of trusted_root.json", cp.ok, cp.ok ? cp.key : cp.reason);
      step(
        "the checkpoint names that tree size and root",
        cp.checkpoint !== undefined && cp.checkpoint.size === proof.treeSize && equalBytes(cp.checkpoint.root, root),
      );
    }
    const set = await verifySet(entry, trustedRoot);
    step("the signed entry timestamp verifies (integrated time)", set.ok, set.reason || "");
    return { ok: steps.every((s) => s.ok), steps };
  },
};

// --- Rekor v2 ---------------------------------------------------------------------------

export const rekorV2 = {
  name: "rekor-v2",
  title: "Rekor v2",
  prefix: "api/v2/tile/",

  async head(trustedRoot) {
    let reader;
    return treeState(
      "rekor-v2",
      async () => {
        const note = await (await fetchService("rekor-v2", "api/v2/checkpoint")).text();
        const checked = await verifyCheckpoint(note, trustedRoot);
        if (!checked.checkpoint) return checked;
        reader = new TileReader("rekor-v2", this.prefix, checked.checkpoint.size);
        return { ...checked, origin: checked.checkpoint.origin, size: checked.checkpoint.size, root: checked.checkpoint.root, note };
      },
      // A tiles-only log serves no proofs: the browser builds the consistency proof from the
      // tiles, and the proof itself checks those tiles against both roots.
      async (first) => (first === 0 ? [] : reader.consistencyProof(first)),
    );
  },

  /** Entries `[from, to)` as {index, body}. */
  async entries(size, from, to) {
    const reader = new TileReader("rekor-v2", this.prefix, size);
    const out = [];
    for (let bundle = Math.floor(from / 256); bundle * 256 < to; bundle++) {
      const entries = await reader.entryBundle(bundle);
      entries.forEach((body, i) => {
        const index = bundle * 256 + i;
        if (index >= from && index < to) out.push({ index, body });
      });
    }
    return out;
  },

  async latest(size, count, before = size) {
    const from = Math.max(0, before - count);
    return (await this.entries(size, from, before)).reverse();
  },

  async byIndex(size, index) {
    if (!(index >= 0 && index < size)) throw new ServiceError("rekor-v2", 404, `Rekor v2 has no entry ${index}: its tree has ${size} entries`);
    const [entry] = await this.entries(size, index, index + 1);
    return entry;
  },

  /** Checks an entry against the verified checkpoint `head`: its inclusion proof, built from
   * the log's tiles, leads from its leaf hash to the signed root. */
  async verify({ index, body }, head) {
    const steps = [];
    const reader = new TileReader("rekor-v2", this.prefix, head.size);
    steps.push({ what: "the checkpoint is signed by a Rekor v2 key of trusted_root.json", ok: head.ok, detail: head.ok ? head.key : head.reason });
    try {
      const proof = await reader.inclusionProof(index);
      const ok = await verifyInclusion(index, head.size, await leafHash(body), proof, head.root);
      steps.push({ what: `the inclusion proof (${proof.length} hashes, from the tiles) leads from leaf ${index} to the signed root of ${head.size}`, ok });
    } catch (e) {
      steps.push({ what: "the inclusion proof can be built from the tiles", ok: false, detail: e.message });
    }
    return { ok: steps.every((s) => s.ok), steps };
  },
};

// --- the CT log -------------------------------------------------------------------------

/** Fields of an RFC 6962 MerkleTreeLeaf: timestamp, entry type, and the certificate (DER) or
 * precertificate TBSCertificate. */
export function parseCtLeaf(leafInput) {
  const view = new DataView(leafInput.buffer, leafInput.byteOffset, leafInput.byteLength);
  const timestamp = Number(view.getBigUint64(2));
  const type = view.getUint16(10);
  const u24 = (at) => (leafInput[at] << 16) | (leafInput[at + 1] << 8) | leafInput[at + 2];
  if (type === 0) {
    const len = u24(12);
    return { timestamp, type: "x509", der: leafInput.subarray(15, 15 + len) };
  }
  const len = u24(44);
  return { timestamp, type: "precert", issuerKeyHash: leafInput.subarray(12, 44), der: leafInput.subarray(47, 47 + len) };
}

export const ctlog = {
  name: "ctlog",
  title: "CT log",

  async head(trustedRoot) {
    return treeState(
      "ctlog",
      async () => {
        const sth = await fetchJSON("ctlog", "ct/v1/get-sth");
        const checked = await verifySth(sth, trustedRoot);
        return { ...checked, origin: "ctlog", size: sth.tree_size, root: fromBase64(sth.sha256_root_hash), timestamp: sth.timestamp, sth };
      },
      async (first, second) => {
        if (first === 0) return [];
        const answer = await fetchJSON("ctlog", `ct/v1/get-sth-consistency?first=${first}&second=${second}`);
        return proofHashes(answer.consistency || [], fromBase64);
      },
    );
  },

  /** Entries `[from, to)` as {index, leafInput, extraData, leaf}; the log may answer fewer per
   * request than asked, so this asks until it has them all. */
  async entries(from, to) {
    const out = [];
    for (let start = from; start < to; ) {
      const answer = await fetchJSON("ctlog", `ct/v1/get-entries?start=${start}&end=${to - 1}`);
      if (!answer.entries?.length) break;
      for (const e of answer.entries) {
        const leafInput = fromBase64(e.leaf_input);
        out.push({ index: start, leafInput, extraData: e.extra_data, leaf: parseCtLeaf(leafInput) });
        start++;
      }
    }
    return out;
  },

  async latest(size, count, before = size) {
    const from = Math.max(0, before - count);
    return (await this.entries(from, before)).reverse();
  },

  async byIndex(size, index) {
    if (!(index >= 0 && index < size)) throw new ServiceError("ctlog", 404, `the CT log has no entry ${index}: its tree has ${size} entries`);
    const [entry] = await this.entries(index, index + 1);
    return entry;
  },

  /** Checks an entry against the verified signed tree head `head` with the log's audit path. */
  async verify({ index, leafInput }, head) {
    const steps = [{ what: "the signed tree head is signed by a CT log key of trusted_root.json", ok: head.ok, detail: head.ok ? head.key : head.reason }];
    const leaf = await leafHash(leafInput);
    try {
      const answer = await fetchJSON("ctlog", `ct/v1/get-proof-by-hash?hash=${encodeURIComponent(toBase64(leaf))}&tree_size=${head.size}`);
      const ok =
        answer.leaf_index === index &&
        (await verifyInclusion(index, head.size, leaf, proofHashes(answer.audit_path, fromBase64), head.root));
      steps.push({ what: `the audit path leads from leaf ${index} to the signed root of ${head.size}`, ok });
    } catch (e) {
      steps.push({ what: "the log gives an audit path", ok: false, detail: e.message });
    }
    return { ok: steps.every((s) => s.ok), steps };
  },
};

export const LOGS = { rekor: rekorV1, "rekor-v2": rekorV2, ctlog };
