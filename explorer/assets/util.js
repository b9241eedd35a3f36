// Small helpers every view uses: building DOM nodes (never from HTML strings, so nothing a log
// returns can become markup), bytes in their encodings, and reading the proxy with errors that
// say which service failed and why.

/** An element `tag` with attributes `attrs` (`on*` functions become listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  // XML namespace names, not addresses: nothing is fetched from them.
  const node = attrs.svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "svg" || value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Bytes of standard or URL-safe base64 `text`; throws a readable error otherwise. */
export function fromBase64(text) {
  const clean = String(text).replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  let binary;
  try {
    binary = atob(clean);
  } catch {
    throw new Error("not valid base64");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Standard base64 of `bytes`. */
export function toBase64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of hex `text`; throws a readable error otherwise. */
export function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error(`not hex: ${text.slice(0, 20)}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Whether two byte arrays are equal. */
export function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The concatenation of byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const utf8 = new TextEncoder();
export const fromUtf8 = (bytes) => new TextDecoder().decode(bytes);

/** SHA-256 of `bytes`, with WebCrypto. */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** An answer of a service that is not a success: the page shows its message as it is. */
export class ServiceError extends Error {
  constructor(service, status, message) {
    super(message);
    this.service = service;
    this.status = status;
  }
}

const SERVICE_NAMES = {
  rekor: "Rekor v1",
  "rekor-v2": "Rekor v2",
  ctlog: "the CT log",
  tuf: "the TUF repository",
  monitor: "the monitor",
};

/** Fetches `/proxy/<service>/<path>`; returns the `Response` of a success, else throws a
 * ServiceError carrying the service's own message. */
export async function fetchService(service, path, init = {}) {
  let response;
  try {
    response = await fetch(`/proxy/${service}/${path}`, init);
  } catch (e) {
    throw new ServiceError(service, 0, `the explorer did not answer (${e.message})`);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const text = await response.text();
      try {
        const body = JSON.parse(text);
        message = body.message || body.error || message;
      } catch {
        if (text.trim()) message = text.trim().slice(0, 300);
      }
    } catch {
      // the status line says enough
    }
    throw new ServiceError(service, response.status, `${SERVICE_NAMES[service] || service}: ${message}`);
  }
  return response;
}

/** JSON of a service's answer (see fetchService). */
export async function fetchJSON(service, path, init) {
  const response = await fetchService(service, path, init);
  try {
    return await response.json();
  } catch {
    throw new ServiceError(service, response.status, `${SERVICE_NAMES[service] || service} answered something that is not JSON`);
  }
}

/** Bytes of a service's answer. */
export async function fetchBytes(service, path) {
  const response = await fetchService(service, path);
  return new Uint8Array(await response.arrayBuffer());
}

/** A time (Date or seconds since the epoch) as ISO 8601 UTC, to the second. */
export function isoTime(t) {
  const date = t instanceof Date ? t : new Date(Number(t) * 1000);
  return Number.isNaN(date.getTime()) ? "?" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
