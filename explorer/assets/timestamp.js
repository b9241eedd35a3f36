// RFC 3161 timestamps in a bundle, verified in the browser: the TSA's CMS signature (RFC 5652
// §5.4: over the DER of the signed attributes, whose message-digest attribute is the hash of
// the TSTInfo) by the key of a TSA certificate of trusted_root.json (ECDSA P-256 or P-384, as
// Sigstore's TSAs and ours sign), and the TSTInfo's message imprint equal to the hash of the
// bundle's signature, as Sigstore clients require.

import { certificateParts, content, decodeCertificate, encoding, oidText, parseDer, spkiCurve } from "./asn1.js";
import { ecdsaDerToRaw } from "./verify.js";
import { equalBytes, fromBase64, fromUtf8, toHex } from "./util.js";

const HASHES = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
const ECDSA_HASHES = {
  "1.2.840.10045.4.3.2": "SHA-256",
  "1.2.840.10045.4.3.3": "SHA-384",
  "1.2.840.10045.4.3.4": "SHA-512",
};
const ID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4";
const ID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";

const oid = (node) => oidText(content(node));
const digest = async (hash, bytes) => new Uint8Array(await crypto.subtle.digest(hash, bytes));

/** A GeneralizedTime (`YYYYMMDDhhmmss[.f]Z`) as a Date, or null. */
function generalizedTime(node) {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(fromUtf8(content(node)));
  if (!m) return null;
  const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms));
}

/** The parts of a TimeStampResp (what bundles carry) or of a bare TimeStampToken that the
 * checks need. Throws on what is not one. */
export function parseTimestamp(der) {
  let root = parseDer(der);
  // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo }
  if (root.children?.[0]?.tag === 0x30) root = root.children[1];
  if (!root || oid(root.children[0]) !== ID_SIGNED_DATA) throw new Error("not an RFC 3161 timestamp token (CMS SignedData)");
  const signedData = root.children[1].children[0];
  const fields = signedData.children;
  const encap = fields[2];
  if (oid(encap.children[0]) !== ID_CT_TSTINFO) throw new Error("the signed content is not a TSTInfo");
  const tstInfoDer = content(encap.children[1].children[0]);
  const certificates = (fields.find((n) => n.tag === 0xa0)?.children || []).map(encoding);
  const signerInfos = fields[fields.length - 1].children;
  if (signerInfos?.length !== 1) throw new Error(`the token has ${signerInfos?.length || 0} signers, not one`);
  const si = signerInfos[0].children;
  const [, sid, digestAlgorithm] = si;
  const signedAttrs = si.find((n) => n.tag === 0xa0);
  if (!signedAttrs) throw new Error("the signer has no signed attributes");
  const attributes = Object.fromEntries(signedAttrs.children.map((a) => [oid(a.children[0]), a.children[1].children[0]]));
  const signatureAlgorithm = si[si.indexOf(signedAttrs) + 1];
  const signature = content(si[si.indexOf(signedAttrs) + 2]);
  const tst = parseDer(tstInfoDer).children;
  const imprint = tst[2].children;
  return {
    tstInfoDer,
    certificates,
    // IssuerAndSerialNumber, or a [0] SubjectKeyIdentifier.
    signer: sid.tag === 0x30 ? { issuer: encoding(sid.children[0]), serial: content(sid.children[1]) } : { keyId: content(sid) },
    digestHash: HASHES[oid(digestAlgorithm.children[0])],
    signatureAlgorithm: oid(signatureAlgorithm.children[0]),
    signature,
    contentType: attributes[ID_CONTENT_TYPE] ? oid(attributes[ID_CONTENT_TYPE]) : null,
    messageDigest: attributes[ID_MESSAGE_DIGEST] ? content(attributes[ID_MESSAGE_DIGEST]) : null,
    // What the signature is over: the signed attributes as an explicit SET OF (RFC 5652 §5.4).
    signedAttrsDer: Uint8Array.of(0x31, ...encoding(signedAttrs).subarray(1)),
    imprintHash: HASHES[oid(imprint[0].children[0])],
    imprint: content(imprint[1]),
    serial: toHex(content(tst[3])),
    genTime: generalizedTime(tst[4]),
  };
}

/** Whether the certificate (DER) is the one a SignerIdentifier names. */
function namesSigner(der, signer) {
  if (signer.keyId) return false; // our TSA and Sigstore's name the certificate by issuer and serial
  return equalBytes(certificateParts(der).issuer, signer.issuer) && decodeCertificate(der).serial === toHex(signer.serial);
}

/** The TSA of trusted_root.json whose leaf certificate signed the token, as
 * {der, uri, validFor}, or null. */
function tsaFor(token, trustedRoot) {
  for (const tsa of trustedRoot.timestampAuthorities || []) {
    const leaf = tsa.certChain?.certificates?.[0]?.rawBytes;
    if (leaf && namesSigner(fromBase64(leaf), token.signer)) return { der: fromBase64(leaf), uri: tsa.uri || tsa.subject?.commonName || "a TSA", validFor: tsa.validFor };
  }
  return null;
}

/** Verifies an RFC 3161 timestamp (`der`: a TimeStampResp or TimeStampToken) over
 * `signatureBytes` (the bundle's signature) against the TSAs of `trustedRoot`.
 * Returns {ok, time, steps: [{what, ok, detail}]}. */
export async function verifyTimestamp(der, signatureBytes, trustedRoot) {
  const steps = [];
  const step = (what, ok, detail = "") => steps.push({ what, ok: Boolean(ok), detail });
  let token;
  try {
    token = parseTimestamp(der);
  } catch (e) {
    step("the timestamp can be read (RFC 3161 TimeStampToken)", false, e.message);
    return { ok: false, time: null, steps };
  }
  let tsa = null;
  try {
    tsa = tsaFor(token, trustedRoot);
  } catch {
    // a TSA certificate of trusted_root.json that cannot be read names no signer
  }
  step("it is signed by a TSA certificate of trusted_root.json", tsa, tsa ? tsa.uri : "no TSA of trusted_root.json has the signer's issuer and serial");
  step("its signed content is a TSTInfo", token.contentType === ID_CT_TSTINFO);
  const contentHash = token.digestHash && token.messageDigest ? await digest(token.digestHash, token.tstInfoDer) : null;
  step("the signed message digest is the hash of the TSTInfo", contentHash && equalBytes(contentHash, token.messageDigest), token.digestHash || "unknown digest algorithm");
  if (tsa) {
    const spki = certificateParts(tsa.der).spki;
    const curve = spkiCurve(spki);
    const hash = ECDSA_HASHES[token.signatureAlgorithm] || token.digestHash;
    let ok = false;
    try {
      const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, false, ["verify"]);
      const raw = ecdsaDerToRaw(token.signature, curve === "P-256" ? 32 : 48);
      ok = raw !== null && (await crypto.subtle.verify({ name: "ECDSA", hash }, key, raw, token.signedAttrsDer));
    } catch {
      ok = false;
    }
    step(`the TSA's signature (ECDSA ${curve || "?"}, ${hash || "?"}) over the signed attributes verifies`, ok, curve ? "" : "the TSA's key is not ECDSA P-256 or P-384");
    const { notBefore, notAfter } = decodeCertificate(tsa.der);
    const start = tsa.validFor?.start ? new Date(tsa.validFor.start) : null;
    const end = tsa.validFor?.end ? new Date(tsa.validFor.end) : null;
    const t = token.genTime;
    step(
      "the time is within the TSA certificate's validity and its trusted_root.json window",
      t && t >= notBefore && t <= notAfter && (!start || t >= start) && (!end || t <= end),
    );
  }
  const imprint = token.imprintHash ? await digest(token.imprintHash, signatureBytes) : null;
  step(`the message imprint (${token.imprintHash || "unknown hash"}) is the hash of the bundle's signature`, imprint && equalBytes(imprint, token.imprint));
  return { ok: steps.every((s) => s.ok), time: token.genTime, steps };
}
