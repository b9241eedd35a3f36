// The explorer's entry point: loads the configuration and trusted_root.json once, then shows
// the view the URL's fragment names, so that every view has a deep link:
//   #/                          the logs, their verified checkpoints and charts
//   #/search?q=…&by=…           Rekor v1 search (by: auto, hash, email, key, uuid, index)
//   #/rekor, #/rekor-v2, #/ctlog [?before=N]   newest entries of a log
//   #/rekor/entry/<uuid>, #/rekor-v2/entry/<n>, #/ctlog/entry/<n>   one entry, verified
//   #/findings                  the monitor's findings
//   #/bundle                    a bundle from disk (DSSE payload, TSA timestamp)
// Any failure ends as a message in the page, never as an empty one.

import { bundleView, browse, ctEntry, findings, message, overview, rekorEntry, rekorV2Entry, search } from "./views.js";
import { rekorV1 } from "./logs.js";
import { loadTrustedRoot } from "./verify.js";
import { el } from "./util.js";

const main = document.getElementById("main");
let contextPromise;

async function context() {
  if (!contextPromise) {
    contextPromise = (async () => {
      const config = await (await fetch("/config.json")).json();
      const ctx = { services: config.services };
      try {
        const { root, source } = await loadTrustedRoot();
        ctx.trustedRoot = root;
        ctx.trustSource = source;
      } catch (e) {
        // Without keys nothing verifies: every badge says so, and the page says why.
        ctx.trustedRoot = { tlogs: [], ctlogs: [] };
        ctx.trustSource = `NONE: trusted_root.json could not be loaded (${e.message})`;
        ctx.trustError = ctx.trustSource;
      }
      return ctx;
    })();
    contextPromise.catch(() => {
      contextPromise = undefined;
    });
  }
  return contextPromise;
}

async function route(ctx) {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  // Each visit reads the logs' checkpoints afresh.
  delete ctx.heads;
  switch (parts[0]) {
    case undefined:
      return overview(ctx);
    case "search":
      return search(ctx, params);
    case "findings":
      return findings(ctx);
    case "bundle":
      return bundleView(ctx);
    case "rekor":
    case "rekor-v2":
    case "ctlog":
      if (parts.length === 1) return browse(ctx, parts[0], params);
      if (parts[1] === "entry" && parts.length === 3) {
        if (parts[0] === "rekor") {
          if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/i.test(parts[2])) throw new Error(`${JSON.stringify(parts[2])} is not an entry UUID (64 or 80 hex digits)`);
          return rekorEntry(ctx, await rekorV1.byUuid(parts[2].toLowerCase()));
        }
        return parts[0] === "ctlog" ? ctEntry(ctx, parts[2]) : rekorV2Entry(ctx, parts[2]);
      }
    // fall through: no such view
    default:
      throw new Error(`there is no page ${JSON.stringify(hash)}; start from the overview`);
  }
}

async function show() {
  main.replaceChildren(el("p", { class: "muted", role: "status" }, "loading…"));
  main.setAttribute("aria-busy", "true");
  const form = document.getElementById("search");
  const params = new URLSearchParams((location.hash.split("?")[1] || ""));
  // The search box shows the search on screen, and is empty on other views.
  const searching = location.hash.startsWith("#/search");
  form.q.value = searching ? params.get("q") || "" : "";
  form.by.value = searching ? params.get("by") || "auto" : "auto";
  for (const a of document.querySelectorAll("header nav a")) {
    const current = a.getAttribute("href") === (location.hash.split("?")[0] || "#/");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  let nodes;
  try {
    const ctx = await context();
    nodes = [ctx.trustError ? message("error", `Nothing can be verified: ${ctx.trustError}`) : null, ...(await route(ctx)).flat(Infinity)];
  } catch (e) {
    nodes = [el("h1", {}, "Something went wrong"), message("error", e.message || String(e)), el("p", {}, el("a", { href: "#/" }, "Back to the overview"))];
  }
  main.replaceChildren(...nodes.filter(Boolean));
  main.setAttribute("aria-busy", "false");
  const h1 = main.querySelector("h1");
  if (h1) document.title = `${h1.textContent} · sigstack explorer`;
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  location.hash = `#/search?by=${encodeURIComponent(form.by.value)}&q=${encodeURIComponent(form.q.value.trim())}`;
});
window.addEventListener("hashchange", () => {
  show();
  main.focus();
});
show();
