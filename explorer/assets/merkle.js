// RFC 6962 / RFC 9162 Merkle trees with WebCrypto SHA-256: leaf and node hashes, checking
// inclusion and consistency proofs (RFC 9162 §2.1.3.2 and §2.1.4.2), and, for logs that serve
// only C2SP tlog-tiles (Rekor v2), building those proofs from tiles (every hash in them is
// checked by the proof against the signed root, so a wrong tile cannot pass).

import { concat, equalBytes, fetchBytes, sha256 } from "./util.js";

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/** The root that `proof` leads to from leaf `index` (hash `leaf`) in a tree of `size`, or
 * null when the proof has the wrong length for that position. */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(index >= 0 && index < size)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** Whether `proof` shows leaf `index` (hash `leaf`) in the tree of `size` and `root`. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  const computed = await rootFromInclusionProof(index, size, leaf, proof);
  return computed !== null && equalBytes(computed, root);
}

/** Whether `proof` shows the tree (`size1`, `root1`) is a prefix of (`size2`, `root2`). */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = proof;
  if (Number.isInteger(Math.log2(size1))) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

/** The largest power of two smaller than `n` (n > 1). */
const splitPoint = (n) => 2 ** Math.floor(Math.log2(n - 1));

/** C2SP tlog-tiles path of tile `n`: groups of three digits, all but the last `x`-prefixed. */
export function tileIndexPath(n) {
  const digits = String(n).padStart(3, "0");
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, "0");
  const groups = padded.match(/.{3}/g);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** Hashes of a tree of `size` read from a tlog-tiles log under `prefix` of `service`: each
 * tile fetched once per reader. */
export class TileReader {
  constructor(service, prefix, size) {
    this.service = service;
    this.prefix = prefix;
    this.size = size;
    this.tiles = new Map();
  }

  /** Tile `n` at tile level `level`, full or (at the right edge) partial. */
  async tile(level, n) {
    const nodesAtLevel = Math.floor(this.size / 256 ** level);
    const width = Math.min(256, nodesAtLevel - n * 256);
    if (width <= 0) throw new Error(`tile ${level}/${n} is beyond the tree`);
    const path = `${this.prefix}${level}/${tileIndexPath(n)}${width < 256 ? `.p/${width}` : ""}`;
    if (!this.tiles.has(path)) this.tiles.set(path, fetchBytes(this.service, path));
    const bytes = await this.tiles.get(path);
    if (bytes.length !== 32 * width) throw new Error(`tile ${path} has ${bytes.length} bytes, not ${32 * width}`);
    return bytes;
  }

  /** The hash of the perfect subtree of height `height` whose leftmost leaf is
   * `index * 2^height`. */
  async node(height, index) {
    if (height % 8 === 0) {
      const level = height / 8;
      const tile = await this.tile(level, Math.floor(index / 256));
      const at = (index % 256) * 32;
      return tile.subarray(at, at + 32);
    }
    return nodeHash(await this.node(height - 1, 2 * index), await this.node(height - 1, 2 * index + 1));
  }

  /** MTH(D[a:b]) per RFC 6962 §2.1. */
  async range(a, b) {
    const n = b - a;
    if (n > 0 && (n & (n - 1)) === 0 && a % n === 0) return this.node(Math.log2(n), a / n);
    const k = splitPoint(n);
    return nodeHash(await this.range(a, a + k), await this.range(a + k, b));
  }

  /** The RFC 6962 audit path of leaf `m` in D[a:b] (the whole tree by default). */
  async inclusionProof(m, a = 0, b = this.size) {
    if (b - a === 1) return [];
    const k = splitPoint(b - a);
    if (m - a < k) return [...(await this.inclusionProof(m, a, a + k)), await this.range(a + k, b)];
    return [...(await this.inclusionProof(m, a + k, b)), await this.range(a, a + k)];
  }

  /** The RFC 6962 §2.1.2 consistency proof from the tree of `m` leaves to this one. */
  async consistencyProof(m, a = 0, b = this.size, whole = true) {
    if (m === b - a) return whole ? [] : [await this.range(a, b)];
    const k = splitPoint(b - a);
    if (m <= k) return [...(await this.consistencyProof(m, a, a + k, whole)), await this.range(a + k, b)];
    return [...(await this.consistencyProof(m - k, a + k, b, false)), await this.range(a, a + k)];
  }

  /** The `width` entries of entry bundle `n`. C2SP tlog-tiles frames each entry with a 16-bit
   * big-endian length; a bundle that does not parse so (this stack's Rekor v2 serves its JSON
   * bodies one after the other) is split into its JSON objects. Either way, each entry's
   * inclusion proof is what vouches for it. */
  async entryBundle(n) {
    const width = Math.min(256, this.size - n * 256);
    const path = `${this.prefix}entries/${tileIndexPath(n)}${width < 256 ? `.p/${width}` : ""}`;
    const bytes = await fetchBytes(this.service, path);
    const framed = splitFramed(bytes);
    if (framed && framed.length === width) return framed;
    const objects = splitJsonObjects(bytes);
    if (objects && objects.length === width) return objects;
    throw new Error(`entry bundle ${path} does not hold ${width} entries`);
  }
}

/** The entries of a length-framed bundle, or null if the framing does not add up. */
export function splitFramed(bytes) {
  const entries = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 2 > bytes.length) return null;
    const len = (bytes[at] << 8) | bytes[at + 1];
    if (at + 2 + len > bytes.length) return null;
    entries.push(bytes.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return entries;
}

/** Consecutive JSON objects, split where the outermost braces close; null if the bytes are
 * not such a sequence. */
export function splitJsonObjects(bytes) {
  const entries = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === 0x7d) {
      depth--;
      if (depth < 0) return null;
      if (depth === 0) entries.push(bytes.subarray(start, i + 1));
    } else if (depth === 0) {
      return null;
    }
  }
  return depth === 0 ? entries : null;
}
