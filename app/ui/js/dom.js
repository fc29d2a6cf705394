// DOM and formatting helpers. User-supplied text only ever reaches the page through
// text nodes (never innerHTML), and always inside dir="auto" so Arabic reads right.

import { enc } from "./api.js";

/** h("a", {href, class}, child, ...): children may be nodes, strings, arrays or null. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** User text, isolated so its direction does not leak into the sentence around it. */
export const bdi = (text) => h("bdi", { dir: "auto" }, text ?? "");

/** How a person knows an account: "@handle", else its display name, else its id. */
export function accountLabel(id, names) {
  const name = names && names[id];
  if (name?.handle) return `@${name.handle}`;
  return name?.display_name || id;
}

/** A link to an account: handle and display name (each isolated, so Arabic reads right
 *  to left) with the id beside them; just the id when the service has no record of it.
 *  `names` is the answer's `accounts` map. */
export function accountLink(id, names) {
  const name = names && names[id];
  const href = `#/account/${enc(id)}`;
  if (!name || (!name.handle && !name.display_name)) return h("a", { href, dir: "auto", class: "acct" }, id);
  return h(
    "a",
    { href, class: "acct named", title: id },
    name.handle ? bdi(`@${name.handle}`) : null,
    name.handle && name.display_name ? " " : null,
    name.display_name ? h("bdi", { dir: "auto", class: "display-name" }, name.display_name) : null,
    " ",
    h("span", { class: "acct-id", dir: "auto" }, id),
  );
}

export const waveLink = (id, text = id) =>
  h("a", { href: `#/wave/${enc(id)}`, dir: "auto", class: "mono" }, text);

// --- formatting --------------------------------------------------------------

const intFmt = new Intl.NumberFormat("en-US");

export const fmtInt = (n) => (n == null ? "—" : intFmt.format(n));

export const fmtScore = (n, digits = 2) =>
  n == null || Number.isNaN(n) ? "—" : Number(n).toFixed(digits);

export const fmtPct = (n) => (n == null ? "—" : `${Math.round(n * 100)}%`);

/** "2017-07-29 10:05:00 UTC": ISO-like, always UTC, no locale surprises. */
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "1 h 35 min" between two ISO times. */
export function fmtDuration(startIso, endIso) {
  const s = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  if (Number.isNaN(s)) return "—";
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${min} min`;
  return min ? `${min} min` : `${s} s`;
}

/** "5 min", "2 h", "1 d" for a bucket length in seconds. */
export function fmtSpan(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export const humanize = (name) => String(name ?? "").replaceAll("_", " ");

// --- small components --------------------------------------------------------

const level = (v) => (v >= 0.8 ? "high" : v >= 0.5 ? "mid" : "low");

/** A 0..1 value as a bar plus its number. Width goes through the CSSOM (CSP-safe). */
export function riskBar(value, { label = null, wide = false } = {}) {
  const v = Math.max(0, Math.min(1, Number(value) || 0));
  const fill = h("span", { class: `bar-fill ${level(v)}` });
  fill.style.width = `${(v * 100).toFixed(1)}%`;
  return h(
    "span",
    { class: `risk${wide ? " wide" : ""}`, title: label },
    h("span", { class: "bar", role: "img", "aria-label": `${label || "value"} ${fmtScore(value)}` }, fill),
    h("span", { class: "num" }, fmtScore(value)),
  );
}

export const TIERS = {
  1: { name: "tier 1 · official", cls: "t1" },
  2: { name: "tier 2 · supporting institution", cls: "t2" },
  3: { name: "tier 3 · supporter", cls: "t3" },
};

export function tierBadge(tier, label) {
  if (tier == null) return h("span", { class: "muted" }, "—");
  const t = TIERS[tier];
  return h("span", { class: `badge ${t ? t.cls : ""}` }, t ? t.name : `tier ${tier} · ${humanize(label)}`);
}

export const labelBadge = (label) =>
  h("span", { class: `badge ${label === "orchestrated" ? "orch" : "org"}` }, label || "—");

/**
 * A table. columns: [{title, num?, cell: row => node|string}]; rows: data objects.
 * Long tables scroll sideways inside their wrapper instead of breaking the layout.
 */
export function table(columns, rows, { testid = null, rowAttrs = null, compact = false } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.title)));
  const body = h(
    "tbody",
    {},
    rows.map((r) =>
      h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r)))),
    ),
  );
  return h("div", { class: "table-wrap" }, h("table", { "data-testid": testid, class: compact ? "compact" : null }, h("thead", {}, head), body));
}

export const section = (title, ...children) =>
  h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);

export const empty = (text) => h("p", { class: "empty" }, text);

/** Key/value rows (dl) for small facts. */
export const facts = (pairs) =>
  h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
