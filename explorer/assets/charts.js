// Charts drawn as inline SVG: bars (entries per hour, certificates per issuer) and a step line
// (tree size over time). Each chart carries a text summary for screen readers and its numbers
// in a table under it, so nothing is only in the picture.

import { el } from "./util.js";

// About the width of a chart's column, so that its text stays at about the page's size.
const W = 360;
const H = 180;
const PAD = { left: 40, right: 10, top: 10, bottom: 30 };

const svg = (tag, attrs, ...children) => el(tag, { svg: true, ...attrs }, ...children);

function frame(label) {
  return svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": label,
    class: "chart",
    preserveAspectRatio: "xMidYMid meet",
  }, svg("title", {}, label));
}

function table(caption, headers, rows) {
  return el(
    "details",
    { class: "chart-data" },
    el("summary", {}, `${caption}: the numbers`),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))),
    ),
  );
}

function axisY(chart, max) {
  const plotH = H - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - f);
    chart.append(
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, String(Math.round(max * f))),
    );
  }
}

/** Vertical bars: `points` = [{label, value}], labels under every few bars. */
export function barChart(caption, points, unit) {
  const figure = el("figure", { class: "figure" }, el("figcaption", {}, caption));
  if (!points.length) {
    figure.append(el("p", { class: "muted" }, "nothing to draw yet"));
    return figure;
  }
  const max = Math.max(1, ...points.map((p) => p.value));
  const total = points.reduce((n, p) => n + p.value, 0);
  const chart = frame(`${caption}: ${total} ${unit} over ${points.length} bars, at most ${max} in one`);
  axisY(chart, max);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / points.length;
  const every = Math.ceil(points.length / 6);
  points.forEach((p, i) => {
    const h = (p.value / max) * plotH;
    const x = PAD.left + i * step;
    chart.append(
      svg("rect", { x: x + step * 0.1, y: PAD.top + plotH - h, width: step * 0.8, height: Math.max(h, 0), class: "bar" },
        svg("title", {}, `${p.label}: ${p.value} ${unit}`)),
    );
    if (i % every === 0) {
      chart.append(svg("text", { x: x + step / 2, y: H - PAD.bottom + 16, "text-anchor": "middle", class: "tick" }, p.short || p.label));
    }
  });
  figure.append(chart, table(caption, ["", unit], points.map((p) => [p.label, p.value])));
  return figure;
}

/** Horizontal bars, one per labelled count (certificates per issuer). */
export function rankChart(caption, counts, unit) {
  const figure = el("figure", { class: "figure" }, el("figcaption", {}, caption));
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (!rows.length) {
    figure.append(el("p", { class: "muted" }, "nothing to draw yet"));
    return figure;
  }
  const max = Math.max(...rows.map((r) => r[1]));
  // Narrower than the other charts, so that its labels stay readable in a column.
  const w = 360;
  const barH = 26;
  const height = rows.length * 2 * barH + 10;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${height}`, role: "img", class: "chart", "aria-label": `${caption}: ${rows.map(([k, v]) => `${k} ${v}`).join(", ")}` },
    svg("title", {}, caption));
  rows.forEach(([label, value], i) => {
    // The issuer's name on its own line, its bar under it.
    const y = 5 + i * 2 * barH;
    const width = ((w - 50) * value) / max;
    chart.append(
      svg("text", { x: 0, y: y + 16, class: "tick" }, label.length > 56 ? `${label.slice(0, 55)}…` : label),
      svg("rect", { x: 0, y: y + barH, width, height: barH - 8, class: "bar" }, svg("title", {}, `${label}: ${value} ${unit}`)),
      svg("text", { x: width + 6, y: y + barH + 14, class: "tick" }, String(value)),
    );
  });
  figure.append(chart, table(caption, ["", unit], rows));
  return figure;
}

/** A step line of `points` = [{time (ms), value}]: the tree size as this browser saw it. */
export function stepChart(caption, points, unit) {
  const figure = el("figure", { class: "figure" }, el("figcaption", {}, caption));
  if (points.length < 2) {
    figure.append(el("p", { class: "muted" }, points.length ? `one point so far: ${points[0].value} ${unit}; come back later` : "nothing seen yet"));
    return figure;
  }
  const t0 = points[0].time;
  const t1 = Math.max(points[points.length - 1].time, t0 + 1);
  const max = Math.max(1, ...points.map((p) => p.value));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => PAD.top + plotH * (1 - v / max);
  const chart = frame(`${caption}: from ${points[0].value} to ${points[points.length - 1].value} ${unit}`);
  axisY(chart, max);
  let d = `M ${x(points[0].time)} ${y(points[0].value)}`;
  for (const p of points.slice(1)) d += ` H ${x(p.time)} V ${y(p.value)}`;
  chart.append(svg("path", { d, class: "line" }));
  for (const p of points) chart.append(svg("circle", { cx: x(p.time), cy: y(p.value), r: 3, class: "dot" }, svg("title", {}, `${new Date(p.time).toISOString()}: ${p.value}`)));
  for (const t of [t0, t1]) {
    chart.append(svg("text", { x: x(t), y: H - PAD.bottom + 16, "text-anchor": t === t0 ? "start" : "end", class: "tick" }, new Date(t).toISOString().slice(t1 - t0 > 86400000 ? 5 : 11, 16).replace("T", " ")));
  }
  figure.append(chart, table(caption, ["seen", unit], points.map((p) => [new Date(p.time).toISOString(), p.value])));
  return figure;
}

/** Counts of `times` (ms) per hour, from the first to the last, as bar points. */
export function perHour(times) {
  if (!times.length) return [];
  const hour = 3600 * 1000;
  const first = Math.floor(Math.min(...times) / hour);
  const last = Math.floor(Math.max(...times) / hour);
  const span = Math.min(last - first + 1, 72);
  const start = last - span + 1;
  const counts = new Array(span).fill(0);
  for (const t of times) {
    const i = Math.floor(t / hour) - start;
    if (i >= 0) counts[i]++;
  }
  return counts.map((value, i) => {
    const iso = new Date((start + i) * hour).toISOString();
    return { label: `${iso.slice(0, 13)}:00Z`, short: iso.slice(11, 13) + "h", value };
  });
}
