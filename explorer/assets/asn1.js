// Reading X.509 certificates (and the TBSCertificate of a CT precertificate) for display: a
// small DER walker, the names, validity, subject alternative names, the Sigstore extensions
// by name (Fulcio's OID arc 1.3.6.1.4.1.57264.1) and the embedded SCTs. Display only: trust
// decisions are made on Merkle proofs and signed checkpoints (verify.js), not on these fields.

import { fromBase64, fromUtf8, toHex } from "./util.js";

/** One DER element: `tag` (the identifier octet), where its contents are, and its children
 * when constructed. */
export function parseDer(bytes, start = 0, end = bytes.length) {
  if (start + 2 > end) throw new Error("truncated DER");
  const tag = bytes[start];
  let len = bytes[start + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + 2 + n > end) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + 2 + i];
    header += n;
  }
  const contentStart = start + header;
  const contentEnd = contentStart + len;
  if (contentEnd > end) throw new Error("DER element runs past its parent");
  const node = { tag, start, contentStart, end: contentEnd, bytes };
  if (tag & 0x20) {
    node.children = [];
    let at = contentStart;
    while (at < contentEnd) {
      const child = parseDer(bytes, at, contentEnd);
      node.children.push(child);
      at = child.end;
    }
  }
  return node;
}

/** The content octets of a node. */
export const content = (node) => node.bytes.subarray(node.contentStart, node.end);
/** The whole encoding of a node. */
export const encoding = (node) => node.bytes.subarray(node.start, node.end);

/** Dotted text of an OBJECT IDENTIFIER's content octets. */
export function oidText(bytes) {
  const parts = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join(".");
}

const NAME_ATTRIBUTES = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "emailAddress",
};

function nameText(node) {
  const parts = [];
  for (const rdn of node.children || []) {
    for (const attr of rdn.children || []) {
      const [type, value] = attr.children;
      parts.push(`${NAME_ATTRIBUTES[oidText(content(type))] || oidText(content(type))}=${fromUtf8(content(value))}`);
    }
  }
  return parts.join(", ") || "(empty)";
}

function timeValue(node) {
  const text = fromUtf8(content(node));
  // UTCTime YYMMDDHHMMSSZ (years 1950–2049) or GeneralizedTime YYYYMMDDHHMMSSZ.
  const full = node.tag === 0x17 ? (Number(text.slice(0, 2)) >= 50 ? "19" : "20") + text : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** Fulcio's certificate extensions (fulcio docs/oid-info.md), by the last arc under
 * 1.3.6.1.4.1.57264.1. Arcs 1–6 hold a raw string; 8 and above a DER UTF8String. */
export const SIGSTORE_EXTENSIONS = {
  1: "Issuer (v1)",
  2: "GitHub Workflow Trigger",
  3: "GitHub Workflow SHA",
  4: "GitHub Workflow Name",
  5: "GitHub Workflow Repository",
  6: "GitHub Workflow Ref",
  7: "OtherName SAN",
  8: "Issuer",
  9: "Build Signer URI",
  10: "Build Signer Digest",
  11: "Runner Environment",
  12: "Source Repository URI",
  13: "Source Repository Digest",
  14: "Source Repository Ref",
  15: "Source Repository Identifier",
  16: "Source Repository Owner URI",
  17: "Source Repository Owner Identifier",
  18: "Build Config URI",
  19: "Build Config Digest",
  20: "Build Trigger",
  21: "Run Invocation URI",
  22: "Source Repository Visibility At Signing",
  23: "Deployment Environment",
  24: "Token Subject",
};
const SIGSTORE_ARC = "1.3.6.1.4.1.57264.1.";
const SCT_LIST_OID = "1.3.6.1.4.1.11129.2.4.2";
const SAN_OID = "2.5.29.17";

function sanList(extnValue) {
  const seq = parseDer(extnValue);
  return (seq.children || []).map((name) => {
    switch (name.tag) {
      case 0x81:
        return { type: "email", value: fromUtf8(content(name)) };
      case 0x82:
        return { type: "DNS", value: fromUtf8(content(name)) };
      case 0x86:
        return { type: "URI", value: fromUtf8(content(name)) };
      case 0xa0: {
        // otherName: type-id, [0] EXPLICIT value (Fulcio: a UTF8String username).
        const [typeId, wrapped] = name.children;
        const inner = wrapped?.children?.[0];
        return { type: `otherName ${oidText(content(typeId))}`, value: inner ? fromUtf8(content(inner)) : "" };
      }
      default:
        return { type: `tag ${name.tag}`, value: toHex(content(name)) };
    }
  });
}

/** The SCTs of an SCT-list extension value (RFC 6962 §3.3: an OCTET STRING holding the TLS
 * SignedCertificateTimestampList). */
export function parseSctList(extnValue) {
  const octets = content(parseDer(extnValue));
  const view = new DataView(octets.buffer, octets.byteOffset, octets.byteLength);
  const out = [];
  let at = 2;
  const total = 2 + view.getUint16(0);
  while (at < total) {
    const len = view.getUint16(at);
    const sct = octets.subarray(at + 2, at + 2 + len);
    const v = new DataView(sct.buffer, sct.byteOffset, sct.byteLength);
    const extLen = v.getUint16(41);
    const sigAt = 43 + extLen;
    out.push({
      version: sct[0],
      logId: sct.subarray(1, 33),
      timestamp: Number(v.getBigUint64(33)),
      extensions: sct.subarray(43, 43 + extLen),
      hashAlgorithm: sct[sigAt],
      signatureAlgorithm: sct[sigAt + 1],
      signature: sct.subarray(sigAt + 4, sigAt + 4 + v.getUint16(sigAt + 2)),
    });
    at += 2 + len;
  }
  return out;
}

/** The displayable fields of a certificate (DER bytes), or of a TBSCertificate alone
 * (`tbsOnly`, what a CT precertificate entry holds). */
export function decodeCertificate(der, tbsOnly = false) {
  const root = parseDer(der);
  const tbs = tbsOnly ? root : root.children[0];
  let fields = tbs.children;
  const version = fields[0].tag === 0xa0 ? content(fields[0].children[0])[0] + 1 : 1;
  if (fields[0].tag === 0xa0) fields = fields.slice(1);
  const [serial, , issuer, validity, subject, spki, ...rest] = fields;
  const cert = {
    version,
    serial: toHex(content(serial)),
    issuer: nameText(issuer),
    subject: nameText(subject),
    notBefore: timeValue(validity.children[0]),
    notAfter: timeValue(validity.children[1]),
    publicKeyAlgorithm: oidText(content(spki.children[0].children[0])),
    san: [],
    sigstore: [],
    scts: [],
    extensions: [],
    precertificate: false,
  };
  const extsWrapper = rest.find((n) => n.tag === 0xa3);
  for (const ext of extsWrapper?.children?.[0]?.children || []) {
    const oid = oidText(content(ext.children[0]));
    const value = content(ext.children[ext.children.length - 1]);
    cert.extensions.push(oid);
    if (oid === SAN_OID) {
      cert.san = sanList(value);
    } else if (oid === SCT_LIST_OID) {
      cert.scts = parseSctList(value);
    } else if (oid === "1.3.6.1.4.1.11129.2.4.3") {
      cert.precertificate = true;
    } else if (oid.startsWith(SIGSTORE_ARC)) {
      const arc = Number(oid.slice(SIGSTORE_ARC.length));
      let text;
      try {
        text = arc >= 8 ? fromUtf8(content(parseDer(value))) : fromUtf8(value);
      } catch {
        text = fromUtf8(value);
      }
      cert.sigstore.push({ arc, name: SIGSTORE_EXTENSIONS[arc] || `extension ${arc}`, value: text });
    }
  }
  cert.oidcIssuer = (cert.sigstore.find((e) => e.arc === 8) || cert.sigstore.find((e) => e.arc === 1))?.value;
  cert.identity = cert.san.map((s) => s.value).join(", ");
  return cert;
}

/** DER bytes of the first certificate (or public key, `label`) in PEM `text`. */
export function pemBlock(text, label = "CERTIFICATE") {
  const m = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(text);
  return m ? fromBase64(m[1]) : null;
}

/** DER of the SubjectPublicKeyInfo inside a certificate. */
export function certificateSpki(der) {
  const tbs = parseDer(der).children[0];
  const fields = tbs.children[0].tag === 0xa0 ? tbs.children.slice(1) : tbs.children;
  return encoding(fields[5]);
}

/** The DER encoding of an element of `tag` holding `body`. */
export function derEncode(tag, body) {
  let header;
  if (body.length < 0x80) {
    header = [tag, body.length];
  } else {
    const len = [];
    for (let n = body.length; n > 0; n = Math.floor(n / 256)) len.unshift(n % 256);
    header = [tag, 0x80 | len.length, ...len];
  }
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

const joinBytes = (parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The parts of a certificate its signatures are over: the TBSCertificate, its signature
 * algorithm and value, the issuer name, and (RFC 6962 §3.2) the TBSCertificate without its
 * SCT list, which is what the SCTs sign. */
export function certificateParts(der) {
  const root = parseDer(der);
  const [tbs, algorithm, signature] = root.children;
  const fields = tbs.children[0].tag === 0xa0 ? tbs.children.slice(1) : tbs.children;
  const rebuilt = tbs.children.map((child) => {
    if (child.tag !== 0xa3) return encoding(child);
    const kept = child.children[0].children
      .filter((ext) => oidText(content(ext.children[0])) !== SCT_LIST_OID)
      .map(encoding);
    return derEncode(0xa3, derEncode(0x30, joinBytes(kept)));
  });
  const bits = content(signature);
  return {
    tbs: encoding(tbs),
    signatureAlgorithm: oidText(content(algorithm.children[0])),
    signature: bits.subarray(1), // BIT STRING: no unused bits in a signature
    issuer: encoding(fields[2]),
    subject: encoding(fields[4]),
    spki: encoding(fields[5]),
    precertTbs: derEncode(0x30, joinBytes(rebuilt)),
  };
}

/** The named curve of an EC SubjectPublicKeyInfo (DER), or null. */
export function spkiCurve(spki) {
  const params = parseDer(spki).children[0].children[1];
  const oid = params && params.tag === 0x06 ? oidText(content(params)) : null;
  return { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384" }[oid] || null;
}
