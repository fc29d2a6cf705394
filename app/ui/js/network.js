// Network: the three tiers with the ties between them, each hub with its crowd
// (Cytoscape, loaded on first visit). Click an account for its panel: who it is, the waves it
// directed and their targets; search to find one in the picture.
/* global cytoscape */

import { api, enc } from "./api.js";
import { accountLabel, accountLink, empty, fmtInt, fmtScore, fmtTime, h, section, table, waveLink } from "./dom.js";

const TIER_STYLE = {
  1: { color: "#8b0000", size: 30, name: "Tier 1 · official" },
  2: { color: "#ef6c00", size: 20, name: "Tier 2 · supporting institution (hub)" },
  3: { color: "#f9c80e", size: 9, name: "Tier 3 · supporter" },
};
const TIE_STYLE = { retweet: "#d9822b", quote: "#d9822b", like: "#c9a227", follow: "#b8c2cc" };

let cytoscapeLoading = null;
function loadCytoscape() {
  // Only this page needs the 400 kB library; a same-origin script is allowed by the CSP.
  cytoscapeLoading ??= new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "vendor/cytoscape.min.js";
    s.onload = () => resolve(window.cytoscape);
    s.onerror = () => {
      cytoscapeLoading = null;
      reject(new Error("Could not load the graph library (vendor/cytoscape.min.js)."));
    };
    document.head.append(s);
  });
  return cytoscapeLoading;
}

/** Nodes and edges to draw: tiers 1 and 2, the tier-3 sample and every supporter the
 *  document's ties name (the service chose them: a bounded picture); edges are the ties. */
export function buildGraph(net) {
  const tierOf = new Map();
  const t = net.tiers || {};
  const mark = (id, tier) => {
    if (!tierOf.has(id)) tierOf.set(id, tier);
  };
  for (const id of t["1"]?.accounts || []) mark(id, 1);
  for (const id of t["2"]?.accounts || []) mark(id, 2);
  for (const hub of net.hubs || []) mark(hub.account_id, 2);
  for (const id of t["3"]?.sample || []) mark(id, 3);
  const ties = net.ties || [];
  for (const e of ties) {
    mark(e.source, 3);
    mark(e.target, 3);
  }
  const drawn = { 1: 0, 2: 0, 3: 0 };
  for (const tier of tierOf.values()) drawn[tier] += 1;
  const at = positions(net, tierOf);
  const elements = [
    ...[...tierOf].map(([id, tier]) => ({
      data: { id, tier, label: tier < 3 ? accountLabel(id, net.accounts) : "", name: accountLabel(id, net.accounts) },
      position: at.get(id),
    })),
    // Edges get Cytoscape's own ids: none can clash with an account id.
    ...ties.map((e) => ({ group: "edges", data: { source: e.source, target: e.target, kind: e.kind } })),
  ];
  return { elements, drawn, total: tierOf.size, ties: ties.length };
}

/** Where each account sits: the officials in the middle, the hubs on a ring around
 *  them, each hub's supporters clustered just outside their hub, and supporters the
 *  network gathered in no drawn hub on an outer ring. A hub's crowd reads as one group
 *  (a force layout packs supporters who follow several hubs into one ball). */
function positions(net, tierOf) {
  const at = new Map();
  const ring = (ids, radius, cx = 0, cy = 0, start = -Math.PI / 2) =>
    ids.forEach((id, i) => {
      const angle = start + (2 * Math.PI * i) / Math.max(1, ids.length);
      at.set(id, { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) });
    });
  const officials = [...tierOf].filter(([, tier]) => tier === 1).map(([id]) => id);
  const hubs = (net.hubs || []).map((hub) => hub.account_id).filter((id) => tierOf.get(id) === 2);
  const otherLeaders = [...tierOf].filter(([id, tier]) => tier === 2 && !hubs.includes(id)).map(([id]) => id);
  ring(officials, 30 + 8 * officials.length);
  const crowds = (net.hubs || []).map((hub) => [
    hub.account_id,
    (hub.members || []).filter((m) => tierOf.get(m) === 3),
  ]);
  // Each crowd on a circle with room for its members (about 14 px each); the hubs on a
  // ring with room for their crowds side by side.
  const crowdRadius = (n) => Math.max(24, (14 * n) / (2 * Math.PI));
  const widest = Math.max(24, ...crowds.map(([, crowd]) => crowdRadius(crowd.length)));
  const leaders = [...hubs, ...otherLeaders];
  const hubRadius = Math.max(160, (leaders.length * (2 * widest + 30)) / (2 * Math.PI));
  ring(leaders, hubRadius);
  const placed = new Set([...officials, ...leaders]);
  for (const [hubId, members] of crowds) {
    const centre = at.get(hubId);
    if (!centre) continue;
    const crowd = members.filter((m) => !placed.has(m));
    crowd.forEach((m) => placed.add(m));
    // Just outside the hub, away from the middle, so crowds do not cover the officials.
    const out = Math.hypot(centre.x, centre.y) || 1;
    const shift = crowdRadius(crowd.length) + 18;
    ring(crowd, crowdRadius(crowd.length), centre.x + (centre.x / out) * shift, centre.y + (centre.y / out) * shift);
  }
  const rest = [...tierOf.keys()].filter((id) => !placed.has(id));
  ring(rest, hubRadius + 2 * widest + 60);
  return at;
}

/** The panel for one account: who, which tier, the waves it directed and whom they hit. */
async function accountPanel(ctx, panel, id, net) {
  panel.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  let risk;
  try {
    risk = await api(`/v1/accounts/${enc(id)}/risk`, { signal: ctx.signal });
  } catch (err) {
    if (err.name === "AbortError") return;
    panel.replaceChildren(empty(err.message));
    return;
  }
  const names = { ...(net.accounts || {}), ...(risk.accounts || {}) };
  const directed = risk.waves_directed || [];
  panel.replaceChildren(
    h("h3", {}, accountLink(id, names)),
    h("p", {}, TIER_STYLE[risk.tier]?.name ?? "in no tier", risk.tier ? ` · confidence ${fmtScore(risk.tier_confidence)}` : ""),
    h("p", { class: "small" }, `Orchestrator risk ${fmtScore(risk.orchestrator_risk ?? 0)} · reporter risk ${fmtScore(risk.reporter_risk)}`),
    directed.length
      ? table(
          [
            { title: "Wave attributed to it", cell: (d) => waveLink(d.wave_id, fmtTime(d.start)) },
            { title: "Target", cell: (d) => accountLink(d.target_id, names) },
            { title: "How", cell: (d) => (d.inferred ? "inferred: the crowd follows it" : "it named the target") },
          ],
          directed.slice(0, 20),
          { testid: "panel-waves", compact: true },
        )
      : empty("No orchestrated wave is attributed to it."),
    directed.length > 20 ? h("p", { class: "muted small" }, `and ${fmtInt(directed.length - 20)} more on its page`) : null,
  );
}

export async function renderNetwork(ctx) {
  ctx.view.append(h("div", { class: "page-head" }, h("h1", {}, "Supporter network")));
  const net = await api("/v1/network/tiers", { signal: ctx.signal });
  if (!ctx.alive()) return;
  const t = net.tiers || {};
  const counts = { 1: t["1"]?.count ?? 0, 2: t["2"]?.count ?? 0, 3: t["3"]?.count ?? 0 };
  const all = counts[1] + counts[2] + counts[3];
  if (!all) {
    ctx.view.append(
      section(null, empty("No supporter network found yet. It appears once an analysis run has detected official, hub and supporter accounts.")),
    );
    ctx.ready("network");
    return;
  }

  const { elements, drawn, total, ties } = buildGraph(net);
  const info = h("p", { class: "muted", id: "graph-info", "aria-live": "polite" }, "Hover an account for its name; click it for its panel.");
  const legend = h(
    "ul",
    { class: "legend", "data-testid": "network-legend" },
    [1, 2, 3].map((tier) =>
      h(
        "li",
        {},
        h("span", { class: `dot t${tier}` }),
        `${TIER_STYLE[tier].name}: `,
        h("strong", {}, fmtInt(counts[tier])),
        drawn[tier] < counts[tier] ? h("span", { class: "muted" }, ` (${fmtInt(drawn[tier])} drawn)`) : null,
      ),
    ),
  );
  const find = h("input", { type: "search", placeholder: "Find in the picture: @handle or id", "aria-label": "Find an account in the picture", "data-testid": "network-find", dir: "auto" });
  const graphBox = h("div", { class: "graph", "data-testid": "network-graph", id: "network-graph" });
  const panel = h("aside", { class: "graph-panel", "data-testid": "network-panel" }, h("p", { class: "muted" }, "Click an account to see the waves it directed and their targets."));
  ctx.view.append(
    h(
      "p",
      { class: "lede" },
      `Drawing ${fmtInt(total)} of ${fmtInt(all)} accounts and ${fmtInt(ties)} ties between them (orange: one amplifies the other; grey: follows): every official and hub account, some of each hub's supporters and the most certain supporters, each hub's supporters gathered around it, the officials in the middle.`,
    ),
    legend,
    h("div", { class: "graph-tools" }, find),
    h("div", { class: "graph-row" }, graphBox, panel),
    info,
  );

  await loadCytoscape();
  if (!ctx.alive()) return;
  const cy = cytoscape({
    container: graphBox,
    elements,
    minZoom: 0.05,
    maxZoom: 5,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          "background-color": (n) => TIER_STYLE[n.data("tier")].color,
          width: (n) => TIER_STYLE[n.data("tier")].size,
          height: (n) => TIER_STYLE[n.data("tier")].size,
          "border-width": 0.5,
          "border-color": "#5a3a00",
          label: "data(label)",
          "font-size": 10,
          color: "#222",
          "text-valign": "bottom",
          "text-margin-y": 2,
          "text-background-color": "#fff",
          "text-background-opacity": 0.7,
          "min-zoomed-font-size": 5,
        },
      },
      { selector: "node[tier = 1]", style: { "border-color": "#300", color: "#5b0000", "font-weight": "bold" } },
      { selector: "edge", style: { width: 0.7, "line-color": (e) => TIE_STYLE[e.data("kind")] ?? "#ccc", "curve-style": "haystack", opacity: 0.55 } },
      { selector: "node:selected, node.hover, node.found", style: { "border-width": 3, "border-color": "#111" } },
      { selector: "edge.hover", style: { "line-color": "#333", width: 1.6, opacity: 1 } },
      { selector: ".faded", style: { opacity: 0.12 } },
    ],
    // Positions come from positions(): the same picture on every visit, drawn at once.
    layout: { name: "preset", fit: true, padding: 30 },
  });
  const focus = (node) => {
    cy.elements().removeClass("faded found");
    const around = node.closedNeighborhood();
    cy.elements().not(around).addClass("faded");
    node.addClass("found");
    cy.animate({ fit: { eles: around, padding: 60 } }, { duration: 250 });
  };
  cy.on("tap", "node", (e) => {
    focus(e.target);
    accountPanel(ctx, panel, e.target.id(), net);
  });
  cy.on("tap", (e) => {
    if (e.target === cy) cy.elements().removeClass("faded found");
  });
  cy.on("mouseover", "node", (e) => {
    const n = e.target;
    n.addClass("hover");
    n.connectedEdges().addClass("hover");
    const name = n.data("name");
    const who = name === n.id() ? [h("bdi", { dir: "auto" }, n.id())] : [h("bdi", { dir: "auto" }, name), " (", h("bdi", { dir: "auto" }, n.id()), ")"];
    info.replaceChildren(...who, ` · ${TIER_STYLE[n.data("tier")].name} · ${n.connectedEdges().length} ties drawn`);
  });
  cy.on("mouseout", "node", (e) => {
    e.target.removeClass("hover");
    e.target.connectedEdges().removeClass("hover");
  });
  find.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const wanted = find.value.trim().replace(/^@/, "").toLowerCase();
    if (!wanted) return;
    const node = cy.nodes().filter((n) => n.id().toLowerCase() === wanted || n.data("name").replace(/^@/, "").toLowerCase().startsWith(wanted))[0];
    if (node) {
      focus(node);
      accountPanel(ctx, panel, node.id(), net);
    } else info.replaceChildren(`No drawn account matches “${find.value}”; the search box at the top finds every account.`);
  });
  const observer = new ResizeObserver(() => cy.resize());
  observer.observe(graphBox);
  ctx.onCleanup(() => {
    observer.disconnect();
    cy.destroy();
  });
  // Cytoscape paints on the next animation frame: ready once the graph is on the canvas
  // (with a fallback should no frame come, e.g. in a background tab).
  const fallback = setTimeout(() => ctx.ready("network"), 3000);
  ctx.onCleanup(() => clearTimeout(fallback));
  cy.one("render", () => {
    clearTimeout(fallback);
    ctx.ready("network");
  });
}
