// The views, one per deep link (see app.js for the routes). Each takes the page context
// (configured services, trusted root) and returns DOM nodes; what it could not get is shown
// as a message in the page, never as an empty one.

import { LOGS, ctlog, rekorV1, rekorV2 } from "./logs.js";
import { barChart, perHour, rankChart, stepChart } from "./charts.js";
import { decodeCertificate, pemBlock } from "./asn1.js";
import { allHistories, verifyCertificate } from "./verify.js";
import { verifyTimestamp } from "./timestamp.js";
import { el, fetchJSON, fromBase64, fromUtf8, isoTime, sha256, toBase64, toHex, utf8 } from "./util.js";

const PAGE = 20;

// --- pieces -----------------------------------------------------------------------------

export function message(kind, text) {
  return el("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function badge(ok, what) {
  return el(
    "span",
    { class: `badge ${ok ? "ok" : "bad"}`, "data-verified": ok ? "true" : "false" },
    ok ? `✔ verified` : `✘ NOT verified`,
    what ? el("span", { class: "visually-hidden" }, ` (${what})`) : null,
  );
}

function historyBadge(history) {
  if (!history) return null;
  const cls = history.status === "INCONSISTENT" ? "bad" : history.status === "unchecked" ? "warn" : "ok";
  return el("span", { class: `badge ${cls}`, "data-history": history.status, title: history.detail }, history.status === "INCONSISTENT" ? "✘ INCONSISTENT with what this browser saw" : `history: ${history.status}`);
}

function steps(verification) {
  return el(
    "ul",
    { class: "steps" },
    verification.steps.map((s) =>
      el("li", { class: s.ok ? "ok" : "bad" }, s.ok ? "✔ " : "✘ ", s.what, s.detail ? el("div", { class: "detail mono" }, s.detail) : null),
    ),
  );
}

function dl(pairs) {
  return el(
    "dl",
    { class: "fields" },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

const mono = (text) => el("span", { class: "mono" }, text);
const link = (href, text) => el("a", { href }, text);

/** Small badges of a certificate's checks (verifyCertificate), or nothing. */
function certificateChecks(checks) {
  if (!checks) return [];
  return [
    ["Issued by a CA of trusted_root.json", el("span", {}, badge(checks.ca.ok, "certificate chain"), " ", checks.ca.detail)],
    ...checks.scts.map((s, i) => [`SCT ${i + 1}`, el("span", {}, badge(s.ok, "SCT"), " ", s.detail)]),
  ];
}

/** The certificate's SHA-256 fingerprint, linked to the Rekor v1 entries it signed. */
async function fingerprintField(der) {
  const fingerprint = toHex(await sha256(der));
  return el("span", {}, mono(fingerprint), " ", link(`#/search?by=fingerprint&q=${fingerprint}`, "Rekor v1 entries signed with it"));
}

function certificateView(der, title = "Signing certificate", tbsOnly = false, checks = null, fingerprint = null) {
  let cert;
  try {
    cert = decodeCertificate(der, tbsOnly);
  } catch (e) {
    return message("error", `the certificate could not be read: ${e.message}`);
  }
  const now = new Date();
  const inWindow = cert.notBefore && cert.notAfter ? `${isoTime(cert.notBefore)} → ${isoTime(cert.notAfter)} (${Math.round((cert.notAfter - cert.notBefore) / 60000)} minutes${cert.notAfter < now ? ", expired now, as expected of a signing certificate" : ""})` : "?";
  return el(
    "section",
    { class: "card" },
    el("h3", {}, title),
    dl([
      ["Identity (SAN)", cert.san.map((s) => el("div", {}, `${s.type}: `, mono(s.value)))],
      ["OIDC issuer", cert.oidcIssuer && mono(cert.oidcIssuer)],
      ...cert.sigstore.filter((e) => e.arc !== 1 && e.arc !== 8).map((e) => [e.name, mono(e.value)]),
      ["Validity", inWindow],
      ["Issuer", cert.issuer],
      ["Subject", cert.subject],
      ["Serial", mono(cert.serial)],
      ["SHA-256 fingerprint", fingerprint],
      ...(checks
        ? certificateChecks(checks)
        : [
            [
              "SCTs",
              cert.scts.length
                ? cert.scts.map((s) => el("div", {}, `log ${toHex(s.logId).slice(0, 16)}… at ${isoTime(new Date(s.timestamp))}`))
                : tbsOnly ? "(precertificate: the SCT is added to the final certificate)" : "none",
            ],
          ]),
    ]),
  );
}

/** Certificates (DER) anywhere in an entry's spec: PEM in base64 strings (Rekor v1) or
 * `x509Certificate.rawBytes` (Rekor v2). */
function findCertificates(value, out = []) {
  if (Array.isArray(value)) {
    value.forEach((v) => findCertificates(v, out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "x509Certificate" && v?.rawBytes) out.push(fromBase64(v.rawBytes));
      else findCertificates(v, out);
    }
  } else if (typeof value === "string" && value.length > 100) {
    try {
      const der = pemBlock(fromUtf8(fromBase64(value)));
      if (der) out.push(der);
    } catch {
      // not base64 of a PEM
    }
  }
  return out;
}

/** The artifact digest an entry names, whichever its kind. */
function artifactDigest(spec) {
  const s = spec.hashedRekordV002 || spec.dsseV002 || spec;
  const hash = s.data?.hash || s.data || s.payloadHash || s.content?.payloadHash || s.content?.hash;
  if (!hash) return null;
  const value = hash.value || (hash.digest ? toHex(fromBase64(hash.digest)) : null);
  return value ? `${(hash.algorithm || "sha256").toLowerCase().replace("sha2_256", "sha256")}:${value}` : null;
}

function signatures(spec) {
  const s = spec.hashedRekordV002 || spec.dsseV002 || spec;
  const list = s.signature ? [s.signature] : s.signatures || s.content?.envelope?.signatures || [];
  return list.map((sig) => sig.content || sig.signature || sig.sig).filter(Boolean);
}

async function bodyView(body, trustedRoot) {
  let parsed;
  try {
    parsed = JSON.parse(fromUtf8(body));
  } catch {
    return [message("error", "the entry body is not JSON")];
  }
  const spec = parsed.spec || {};
  const digest = artifactDigest(spec);
  return [
    dl([
      ["Kind", `${parsed.kind} ${parsed.apiVersion}`],
      ["Artifact digest", digest && el("span", {}, mono(digest), " ", digest.startsWith("sha256:") ? link(`#/search?by=hash&q=${encodeURIComponent(digest)}`, "other entries with it") : null)],
      ["Signature", signatures(spec).map((s) => el("div", { class: "mono wrap" }, s))],
    ]),
    await Promise.all(
      findCertificates(spec).map(async (der) =>
        certificateView(der, undefined, false, await verifyCertificate(der, trustedRoot).catch((e) => ({ ca: { ok: false, detail: e.message }, scts: [] })), await fingerprintField(der)),
      ),
    ),
    el("details", {}, el("summary", {}, "The entry body (canonical JSON)"), el("pre", { class: "json" }, JSON.stringify(parsed, null, 2))),
  ];
}

async function logHeads(ctx) {
  if (!ctx.heads) {
    ctx.heads = {};
    for (const name of Object.keys(LOGS)) {
      if (!ctx.services[name]) continue;
      ctx.heads[name] = LOGS[name].head(ctx.trustedRoot).catch((e) => ({ ok: false, error: e.message }));
    }
  }
  return ctx.heads;
}

async function headOf(ctx, name) {
  const head = await (await logHeads(ctx))[name];
  if (!head) throw new Error(`${LOGS[name].title} is not configured in this explorer`);
  if (head.error) throw new Error(head.error);
  return head;
}

function headView(log, head) {
  if (head.error) return el("section", { class: "card log" }, el("h2", {}, log.title), message("error", head.error));
  return el(
    "section",
    { class: "card log", "data-log": log.name },
    el("h2", {}, link(`#/${log.name}`, log.title)),
    dl([
      ["Entries", String(head.size)],
      ["Checkpoint", el("span", {}, badge(head.ok, "checkpoint signature"), " ", head.ok ? head.key : head.reason)],
      ["History", historyBadge(head.history)],
      ["Origin", head.origin && mono(head.origin)],
      ["Root hash", mono(toHex(head.root || []))],
    ]),
    head.history ? el("p", { class: "muted" }, head.history.detail) : null,
  );
}

// --- overview ---------------------------------------------------------------------------

/** Rekor v2 logs no time: its entries are dated by their signing certificate's notBefore
 * (Fulcio issues it for the signature, valid minutes); entries signed with a bare key, or
 * unreadable, are counted apart. */
function v2PerHour(entries) {
  const times = [];
  for (const e of entries) {
    try {
      const [der] = findCertificates(JSON.parse(fromUtf8(e.body)).spec || {});
      if (der) times.push(decodeCertificate(der).notBefore.getTime());
    } catch {
      // undated
    }
  }
  const undated = entries.length - times.length;
  const caption = `Rekor v2: entries per hour, dated by their certificate (the last ${entries.length}${undated ? `; ${undated} without one` : ""})`;
  return barChart(caption, perHour(times), "entries");
}

export async function overview(ctx) {
  const heads = await logHeads(ctx);
  const out = [el("h1", {}, "Logs")];
  const cards = el("div", { class: "grid" });
  for (const [name, promise] of Object.entries(heads)) cards.append(headView(LOGS[name], await promise));
  out.push(cards);
  if (!Object.keys(heads).length) out.push(message("error", "this explorer was given no log URL"));
  out.push(el("p", { class: "muted" }, `Keys from trusted_root.json: ${ctx.trustSource}.`));

  const charts = el("div", { class: "charts" });
  out.push(el("h2", {}, "Activity"), charts);
  const rekorHead = await heads.rekor;
  if (rekorHead && !rekorHead.error) {
    try {
      const latest = await rekorV1.latest(rekorHead.size, 100);
      charts.append(barChart("Rekor v1: entries per hour (the last 100)", perHour(latest.map((e) => e.entry.integratedTime * 1000)), "entries"));
    } catch (e) {
      charts.append(message("error", e.message));
    }
  }
  const v2Head = await heads["rekor-v2"];
  if (v2Head && !v2Head.error) {
    try {
      charts.append(v2PerHour(await rekorV2.latest(v2Head.size, 100)));
    } catch (e) {
      charts.append(message("error", e.message));
    }
  }
  const ctHead = await heads.ctlog;
  if (ctHead && !ctHead.error) {
    try {
      const latest = await ctlog.latest(ctHead.size, 100);
      charts.append(barChart("CT log: certificates per hour (the last 100)", perHour(latest.map((e) => e.leaf.timestamp)), "certificates"));
      const issuers = {};
      for (const e of latest) {
        let issuer = "(unknown)";
        try {
          issuer = decodeCertificate(e.leaf.der, e.leaf.type === "precert").oidcIssuer || issuer;
        } catch {
          // counted as unknown
        }
        issuers[issuer] = (issuers[issuer] || 0) + 1;
      }
      charts.append(rankChart("Certificates per OIDC issuer (the last 100)", issuers, "certificates"));
    } catch (e) {
      charts.append(message("error", e.message));
    }
  }
  for (const h of allHistories()) {
    if (!ctx.services[h.log]) continue;
    charts.append(stepChart(`${LOGS[h.log]?.title || h.log} tree size as this browser saw it (${h.origin})`, h.points.map((p) => ({ time: p.seen, value: p.size })), "entries"));
  }
  return out;
}

// --- browsing ---------------------------------------------------------------------------

function pager(name, size, before) {
  const newer = before + PAGE <= size ? before + PAGE : size;
  return el(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    before < size ? link(`#/${name}?before=${newer}`, "← newer") : el("span", {}),
    el("span", {}, `${Math.max(0, before - PAGE)}–${before - 1} of ${size}`),
    before - PAGE > 0 ? link(`#/${name}?before=${before - PAGE}`, "older →") : el("span", {}),
  );
}

function beforeParam(params, size) {
  const raw = params.get("before");
  if (raw === null) return size;
  if (!/^\d+$/.test(raw)) throw new Error(`"before" must be an entry index, not ${JSON.stringify(raw)}`);
  return Math.min(Number(raw), size);
}

function rekorRow(uuid, entry) {
  let kind = "?";
  let identity = "";
  try {
    const body = JSON.parse(fromUtf8(fromBase64(entry.body)));
    kind = `${body.kind} ${body.apiVersion}`;
    const [der] = findCertificates(body.spec || {});
    if (der) identity = decodeCertificate(der).identity;
  } catch {
    // shown as unknown
  }
  return el("tr", {}, el("td", {}, link(`#/rekor/entry/${uuid}`, String(entry.logIndex))), el("td", {}, kind), el("td", { class: "wrap" }, identity), el("td", {}, isoTime(entry.integratedTime)));
}

/** A form that opens entry N of a log (a Rekor v1 index goes through the search). */
function goToEntry(name, size) {
  const input = el("input", { id: "goto", name: "goto", type: "number", min: 0, max: Math.max(0, size - 1), required: true, inputmode: "numeric" });
  return el(
    "form",
    {
      class: "goto",
      onsubmit: (event) => {
        event.preventDefault();
        const n = input.value.trim();
        location.hash = name === "rekor" ? `#/search?by=index&q=${encodeURIComponent(n)}` : `#/${name}/entry/${encodeURIComponent(n)}`;
      },
    },
    el("label", { for: "goto" }, "Open entry by index"),
    " ",
    input,
    " ",
    el("button", { type: "submit" }, "Open"),
  );
}

export async function browse(ctx, name, params) {
  const log = LOGS[name];
  const head = await headOf(ctx, name);
  const before = beforeParam(params, head.size);
  const out = [el("h1", {}, `${log.title}: newest entries`), headView(log, head), goToEntry(name, head.size)];
  if (head.size === 0) return [...out, message("info", "the log is empty")];
  const headers = ["Index", "Kind", "Identity", name === "rekor-v2" ? "Digest" : "Time"];
  const rows = [];
  if (name === "rekor") {
    for (const { uuid, entry } of await rekorV1.latest(head.size, PAGE, before)) rows.push(rekorRow(uuid, entry));
  } else if (name === "rekor-v2") {
    for (const e of await rekorV2.latest(head.size, PAGE, before)) {
      let kind = "?";
      let identity = "";
      let digest = "";
      try {
        const body = JSON.parse(fromUtf8(e.body));
        kind = `${body.kind} ${body.apiVersion}`;
        digest = artifactDigest(body.spec || {}) || "";
        const [der] = findCertificates(body.spec || {});
        if (der) identity = decodeCertificate(der).identity;
      } catch {
        // shown as unknown
      }
      rows.push(el("tr", {}, el("td", {}, link(`#/rekor-v2/entry/${e.index}`, String(e.index))), el("td", {}, kind), el("td", { class: "wrap" }, identity), el("td", { class: "mono wrap" }, digest)));
    }
  } else {
    for (const e of await ctlog.latest(head.size, PAGE, before)) {
      let identity = "";
      try {
        identity = decodeCertificate(e.leaf.der, e.leaf.type === "precert").identity;
      } catch {
        // shown empty
      }
      rows.push(el("tr", {}, el("td", {}, link(`#/ctlog/entry/${e.index}`, String(e.index))), el("td", {}, e.leaf.type), el("td", { class: "wrap" }, identity), el("td", {}, isoTime(new Date(e.leaf.timestamp)))));
    }
  }
  out.push(
    el("table", { class: "entries" }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows)),
    pager(name, head.size, before),
  );
  return out;
}

// --- entries ----------------------------------------------------------------------------

export async function rekorEntry(ctx, found) {
  const { uuid, entry } = found;
  const verification = await rekorV1.verify(found, ctx.trustedRoot);
  return [
    el("h1", {}, `Rekor v1 entry ${entry.logIndex}`),
    el("p", {}, badge(verification.ok, "inclusion and checkpoint"), " ", verification.ok ? "in the log: checked in this browser" : "this browser could NOT confirm this entry is in the log"),
    steps(verification),
    dl([
      ["UUID", mono(uuid)],
      ["Log index", String(entry.logIndex)],
      ["Integrated time", `${isoTime(entry.integratedTime)} (signed by the log in the entry timestamp)`],
      ["Log ID", mono(entry.logID)],
      ["Deep link", link(`#/rekor/entry/${uuid}`, `#/rekor/entry/${uuid}`)],
    ]),
    await bodyView(fromBase64(entry.body), ctx.trustedRoot),
  ];
}

export async function rekorV2Entry(ctx, indexText) {
  if (!/^\d+$/.test(indexText)) throw new Error(`a Rekor v2 entry is named by its index, not ${JSON.stringify(indexText)}`);
  const head = await headOf(ctx, "rekor-v2");
  const entry = await rekorV2.byIndex(head.size, Number(indexText));
  const verification = await rekorV2.verify(entry, head);
  return [
    el("h1", {}, `Rekor v2 entry ${entry.index}`),
    el("p", {}, badge(verification.ok, "inclusion and checkpoint"), " ", verification.ok ? "in the log: checked in this browser" : "this browser could NOT confirm this entry is in the log"),
    steps(verification),
    dl([
      ["Leaf hash", mono(toHex(await sha256(new Uint8Array([0, ...entry.body]))))],
      ["Time", "Rekor v2 logs no time: the signer's RFC 3161 timestamp is in its bundle (open it with “Bundle”)"],
    ]),
    await bodyView(entry.body, ctx.trustedRoot),
  ];
}

export async function ctEntry(ctx, indexText) {
  if (!/^\d+$/.test(indexText)) throw new Error(`a CT log entry is named by its index, not ${JSON.stringify(indexText)}`);
  const head = await headOf(ctx, "ctlog");
  const entry = await ctlog.byIndex(head.size, Number(indexText));
  const verification = await ctlog.verify(entry, head);
  return [
    el("h1", {}, `CT log entry ${entry.index}`),
    el("p", {}, badge(verification.ok, "inclusion and signed tree head"), " ", verification.ok ? "in the log: checked in this browser" : "this browser could NOT confirm this entry is in the log"),
    steps(verification),
    dl([
      ["Type", entry.leaf.type],
      ["Logged at", isoTime(new Date(entry.leaf.timestamp))],
      ["Issuer key hash", entry.leaf.issuerKeyHash && mono(toHex(entry.leaf.issuerKeyHash))],
    ]),
    certificateView(entry.leaf.der, entry.leaf.type === "precert" ? "Precertificate" : "Certificate", entry.leaf.type === "precert"),
  ];
}

// --- search -----------------------------------------------------------------------------

/** A certificate fingerprint as people write it (64 hex digits, bare, after `sha256:` or with
 * a colon between bytes as openssl prints it) in the form Rekor's search takes; null if not. */
export function fingerprintTerm(q) {
  const hex = q.replace(/^sha256:/i, "");
  const digits = hex.includes(":") ? (/^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(hex) ? hex.replaceAll(":", "") : "") : hex;
  return /^[0-9a-f]{64}$/i.test(digits) ? digits.toLowerCase() : null;
}

/** What a search term is, when the user leaves it to the explorer. */
export function classify(q, by) {
  if (by && by !== "auto") return by;
  if (/^\d+$/.test(q)) return "index";
  if (/^(sha256:)?[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(q)) return "fingerprint";
  if (/^sha256:[0-9a-f]{64}$/i.test(q)) return "digest-or-fingerprint";
  if (/^([0-9a-f]{16})?[0-9a-f]{64}$/i.test(q)) return q.length === 80 ? "uuid" : "hash-or-uuid";
  if (q.includes("-----BEGIN")) return "key";
  if (q.includes("@")) return "email";
  return "unknown";
}

export async function search(ctx, params) {
  const q = (params.get("q") || "").trim();
  const by = classify(q, params.get("by"));
  const out = [el("h1", {}, "Search Rekor v1")];
  if (!q) return [...out, message("info", "type a digest (sha256:…), an email or other identity, a PEM certificate or key, a certificate fingerprint, an entry UUID or a log index")];
  if (!ctx.services.rekor) throw new Error("Rekor v1 is not configured in this explorer");
  out.push(el("p", { class: "muted" }, `searching by ${by}: `, mono(q.length > 80 ? `${q.slice(0, 80)}…` : q)));
  const show = async (uuids) => {
    if (!uuids.length) return [message("info", "no entry matches")];
    const found = await rekorV1.retrieve({ entryUUIDs: uuids.slice(0, 50) });
    return [
      el("p", {}, `${uuids.length} entr${uuids.length === 1 ? "y" : "ies"}${uuids.length > 50 ? " (the first 50 shown)" : ""}`),
      el("table", { class: "entries" }, el("thead", {}, el("tr", {}, ["Index", "Kind", "Identity", "Time"].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, found.map(({ uuid, entry }) => rekorRow(uuid, entry)))),
    ];
  };
  switch (by) {
    case "index": {
      if (!/^\d+$/.test(q)) throw new Error(`a log index is a number, not ${JSON.stringify(q)}`);
      const found = await rekorV1.byIndex(q);
      return [...out, ...(await rekorEntry(ctx, found))];
    }
    case "uuid": {
      if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/i.test(q)) throw new Error("an entry UUID is 64 hex digits (80 with its tree ID)");
      return [...out, ...(await rekorEntry(ctx, await rekorV1.byUuid(q.toLowerCase())))];
    }
    case "hash-or-uuid":
    case "digest-or-fingerprint": {
      // 64 hex digits name an entry (its leaf hash), an artifact digest or a certificate's
      // fingerprint: try each, in that order.
      const hex = q.replace(/^sha256:/i, "").toLowerCase();
      if (by === "hash-or-uuid") {
        try {
          return [...out, ...(await rekorEntry(ctx, await rekorV1.byUuid(hex)))];
        } catch (e) {
          if (e.status !== 404) throw e;
        }
      }
      const byDigest = await rekorV1.search({ hash: `sha256:${hex}` });
      if (byDigest.length) return [...out, el("p", { class: "muted" }, "an artifact digest"), ...(await show(byDigest))];
      const byFingerprint = await rekorV1.search({ certificateFingerprint: hex });
      return [...out, el("p", { class: "muted" }, byFingerprint.length ? "a certificate fingerprint" : "no entry, artifact digest nor certificate fingerprint"), ...(await show(byFingerprint))];
    }
    case "hash": {
      const hex = q.replace(/^sha256:/i, "").toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("a digest is sha256: and 64 hex digits");
      return [...out, ...(await show(await rekorV1.search({ hash: `sha256:${hex}` })))];
    }
    case "fingerprint": {
      const fingerprint = fingerprintTerm(q);
      if (!fingerprint) throw new Error("a certificate fingerprint is its SHA-256: 64 hex digits, optionally after sha256: or with colons between bytes");
      const found = await rekorV1.search({ certificateFingerprint: fingerprint });
      const before = found.length ? null : el("p", { class: "muted" }, "Entries logged before this Rekor indexed certificate fingerprints are not under one: search by the PEM certificate or the identity for those.");
      return [...out, ...(await show(found)), before];
    }
    case "email":
      if (!q.includes("@")) throw new Error("an identity search needs an email address or an identity with @ (a workflow URI @ its ref)");
      return [...out, ...(await show(await rekorV1.search({ email: q })))];
    case "key": {
      if (!pemBlock(q) && !/-----BEGIN PUBLIC KEY-----/.test(q)) throw new Error("paste a PEM certificate or PEM public key");
      return [...out, ...(await show(await rekorV1.search({ publicKey: { format: "x509", content: toBase64(utf8.encode(q.trim() + "\n")) } })))];
    }
    default:
      throw new Error(`${JSON.stringify(q.slice(0, 80))} is neither a digest, an identity, a PEM key, a certificate fingerprint, a UUID nor a log index`);
  }
}

// --- monitor findings -------------------------------------------------------------------

const baseUrl = (url) => String(url || "").replace(/\/+$/, "");

/** A link to the entry of a finding (docs/monitor.md's shape). The monitor names a log by the
 * URL it follows, which trusted_root.json lists as a CT log's or a Rekor log's `baseUrl`; it
 * follows tiles (Rekor v2, static-ct-api), never Rekor v1, so a Rekor URL is the v2 log. */
function findingLink(f, trustedRoot) {
  if (f.index === undefined || f.index === null) return "";
  const url = baseUrl(f.log);
  if ((trustedRoot.ctlogs || []).some((l) => baseUrl(l.baseUrl) === url)) return link(`#/ctlog/entry/${f.index}`, `CT log entry ${f.index}`);
  if ((trustedRoot.tlogs || []).some((l) => baseUrl(l.baseUrl) === url)) return link(`#/rekor-v2/entry/${f.index}`, `Rekor v2 entry ${f.index}`);
  return `entry ${f.index} (a log not in trusted_root.json)`;
}

export async function findings(ctx) {
  const out = [el("h1", {}, "Monitor findings")];
  if (!ctx.services.monitor) return [...out, message("info", "no monitor is configured (sigstack explorer --monitor-url)")];
  const items = (await fetchJSON("monitor", "findings")).findings;
  if (!Array.isArray(items)) throw new Error("the monitor's answer has no list of findings");
  if (!items.length) return [...out, message("info", "the monitor reports no finding")];
  out.push(
    el("p", {}, `${items.length} finding${items.length === 1 ? "" : "s"}, newest first`),
    el(
      "table",
      { class: "entries", id: "findings" },
      el("thead", {}, el("tr", {}, ["Time", "Log", "Kind", "Entry", "Detail"].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        items.map((f) =>
          el(
            "tr",
            { "data-kind": String(f.kind ?? "") },
            el("td", {}, isoTime(new Date(Number(f.found_at)))),
            el("td", { class: "wrap" }, String(f.log ?? "")),
            el("td", {}, String(f.kind ?? "")),
            el("td", {}, findingLink(f, ctx.trustedRoot)),
            el("td", { class: "wrap" }, String(f.detail ?? ""), (f.matched || []).map((m) => el("div", { class: "muted" }, `${m.rule}: `, mono(String(m.value))))),
          ),
        ),
      ),
    ),
  );
  return out;
}

// --- a bundle from disk -----------------------------------------------------------------

/** Whether the log holds a bundle's entry: the entry at its index has the bundle's body, and
 * is verified in the log like any entry shown. */
async function bundleInLog(ctx, entry) {
  const v2 = entry.kindVersion?.version === "0.0.2";
  const body = fromBase64(entry.canonicalizedBody);
  const index = Number(entry.logIndex);
  let found;
  let verification;
  if (v2) {
    const head = await headOf(ctx, "rekor-v2");
    found = await rekorV2.byIndex(head.size, index);
    verification = await rekorV2.verify(found, head);
    found = found.body;
  } else {
    const hit = await rekorV1.byIndex(index);
    verification = await rekorV1.verify(hit, ctx.trustedRoot);
    found = fromBase64(hit.entry.body);
  }
  const same = found.length === body.length && found.every((b, i) => b === body[i]);
  verification.steps.unshift({ what: `the log's entry ${index} is the bundle's entry`, ok: same });
  verification.ok = verification.ok && same;
  return verification;
}

export function bundleView(ctx) {
  const result = el("div", { "aria-live": "polite" });
  const input = el("input", { type: "file", id: "bundle-file", accept: ".json,application/json" });
  input.addEventListener("change", async () => {
    result.replaceChildren();
    try {
      const bundle = JSON.parse(await input.files[0].text());
      const entry = bundle.verificationMaterial?.tlogEntries?.[0];
      const env = bundle.dsseEnvelope;
      const parts = [];
      if (entry) {
        const v2 = entry.kindVersion?.version === "0.0.2";
        try {
          const verification = await bundleInLog(ctx, entry);
          parts.push(
            el("p", {}, badge(verification.ok, "the bundle's entry in the log"), " ", verification.ok ? "the bundle's entry is in the log: checked in this browser" : "this browser could NOT confirm the bundle's entry is in the log"),
            steps(verification),
          );
        } catch (e) {
          parts.push(message("error", `the bundle's entry could not be checked in the log: ${e.message}`));
        }
        parts.push(dl([["Log entry", link(v2 ? `#/rekor-v2/entry/${entry.logIndex}` : `#/search?by=index&q=${entry.logIndex}`, `${v2 ? "Rekor v2" : "Rekor v1"} entry ${entry.logIndex}`)], ["Integrated time", entry.integratedTime && entry.integratedTime !== "0" ? isoTime(entry.integratedTime) : null]]));
      }
      const signature = bundle.messageSignature?.signature || env?.signatures?.[0]?.sig;
      for (const ts of bundle.verificationMaterial?.timestampVerificationData?.rfc3161Timestamps || []) {
        const checked = await verifyTimestamp(fromBase64(ts.signedTimestamp), signature ? fromBase64(signature) : new Uint8Array(), ctx.trustedRoot);
        parts.push(
          el(
            "section",
            { class: "card", "data-timestamp": checked.ok ? "verified" : "not-verified" },
            el("h3", {}, "RFC 3161 timestamp"),
            el("p", {}, badge(checked.ok, "RFC 3161 timestamp"), " ", checked.ok ? `signed at ${isoTime(checked.time)} by a TSA of trusted_root.json: checked in this browser` : "this browser could NOT confirm this timestamp"),
            steps(checked),
            dl([["Time", checked.time ? isoTime(checked.time) : "?"]]),
          ),
        );
      }
      const certB64 = bundle.verificationMaterial?.certificate?.rawBytes || bundle.verificationMaterial?.x509CertificateChain?.certificates?.[0]?.rawBytes;
      if (certB64) {
        const der = fromBase64(certB64);
        const checks = await verifyCertificate(der, ctx.trustedRoot).catch((e) => ({ ca: { ok: false, detail: e.message }, scts: [] }));
        parts.push(certificateView(der, undefined, false, checks, await fingerprintField(der)));
      }
      if (env) {
        const payload = fromUtf8(fromBase64(env.payload));
        let pretty = payload;
        try {
          pretty = JSON.stringify(JSON.parse(payload), null, 2);
        } catch {
          // shown as it is
        }
        parts.push(el("h3", {}, `DSSE payload (${env.payloadType})`), el("pre", { class: "json", id: "dsse-payload" }, pretty));
      }
      if (bundle.messageSignature) parts.push(dl([["Artifact digest", mono(`sha256:${toHex(fromBase64(bundle.messageSignature.messageDigest.digest))}`)]]));
      result.append(...parts);
    } catch (e) {
      result.append(message("error", `this file is not a Sigstore bundle the explorer can read: ${e.message}`));
    }
  });
  return [
    el("h1", {}, "Open a bundle"),
    el("p", {}, "A bundle holds what logs do not keep: the DSSE payload and the TSA timestamp. The file is read in this browser and sent nowhere."),
    el("label", { for: "bundle-file" }, "Sigstore bundle (.sigstore.json)"),
    " ",
    input,
    result,
  ];
}
