// Network: the three tiers and the hubs, drawn with Cytoscape (loaded on first visit).
/* global cytoscape */

import { api } from "./api.js";
import { accountLabel, empty, fmtInt, h, section } from "./dom.js";

const MAX_MEMBERS_PER_HUB = 40;
const MAX_NODES = 1500;
const SUPPORTERS_PER_RING = 60;
const TIER_STYLE = {
  1: { color: "#8b0000", size: 34, name: "Tier 1 · official" },
  2: { color: "#ef6c00", size: 20, name: "Tier 2 · supporting institution (hub)" },
  3: { color: "#f9c80e", size: 8, name: "Tier 3 · supporter" },
};

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

/**
 * Nodes and edges to draw: tiers 1 and 2 in full, then each hub's members, then the tier-3
 * sample, until MAX_NODES. The members' budget is shared evenly between hubs (at most
 * MAX_MEMBERS_PER_HUB each) so no hub is left bare; they are added hub by hub, in the hubs'
 * own order, so the concentric rings keep each hub's members together.
 */
export function buildGraph(net) {
  const nodes = new Map(); // id -> tier
  const add = (id, tier) => {
    if (nodes.has(id) || nodes.size >= MAX_NODES) return nodes.has(id);
    nodes.set(id, tier);
    return true;
  };
  const t = net.tiers || {};
  const hubs = net.hubs || [];
  for (const id of t["1"]?.accounts || []) add(id, 1);
  for (const hub of hubs) add(hub.account_id, 2);
  for (const id of t["2"]?.accounts || []) add(id, 2);
  const perHub = Math.max(1, Math.min(MAX_MEMBERS_PER_HUB, Math.floor((MAX_NODES - nodes.size) / Math.max(1, hubs.length))));
  const edges = [];
  for (const hub of hubs) {
    if (!nodes.has(hub.account_id)) continue;
    for (const m of (hub.members || []).slice(0, perHub)) {
      if (add(m, 3)) edges.push({ data: { id: `${hub.account_id}->${m}`, source: hub.account_id, target: m } });
    }
  }
  for (const id of t["3"]?.sample || []) add(id, 3);
  const drawn = { 1: 0, 2: 0, 3: 0 };
  for (const tier of nodes.values()) drawn[tier] += 1;
  // One ring of hundreds of supporters would dwarf the inner rings, so tier 3 is dealt
  // round-robin onto several rings; as members are in hub order, each hub's supporters
  // still share one sector of the outer band.
  const rings = Math.max(1, Math.round(drawn[3] / SUPPORTERS_PER_RING));
  let j = 0;
  const elements = [
    ...[...nodes].map(([id, tier]) => {
      const ring = tier === 3 ? 1 + ((j++ % rings) / rings) : 0;
      const label = tier < 3 ? accountLabel(id, net.accounts) : "";
      return { data: { id, tier, ring: tier === 1 ? 3 : tier === 2 ? 2 : ring, label } };
    }),
    ...edges,
  ];
  return { elements, drawn, total: nodes.size, perHub };
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

  const { elements, drawn, total, perHub } = buildGraph(net);
  const info = h("p", { class: "muted", id: "graph-info", "aria-live": "polite" }, "Click an account to open it.");
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
  const graphBox = h("div", { class: "graph", "data-testid": "network-graph", id: "network-graph" });
  ctx.view.append(
    h(
      "p",
      { class: "lede" },
      `Drawing ${fmtInt(total)} of ${fmtInt(all)} accounts: every official and hub account, up to ${perHub} supporters per hub and a sample of the most certain supporters. Lines join each hub to its supporters.`,
    ),
    legend,
    graphBox,
    info,
  );

  await loadCytoscape();
  if (!ctx.alive()) return;
  const cy = cytoscape({
    container: graphBox,
    elements,
    minZoom: 0.05,
    maxZoom: 4,
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
          "font-size": 9,
          color: "#222",
          "text-valign": "bottom",
          "text-margin-y": 2,
          // Ids only once zoomed in: at overview scale they would pile up in the centre.
          "min-zoomed-font-size": 10,
        },
      },
      { selector: "node[tier = 1]", style: { "border-color": "#300", color: "#5b0000" } },
      { selector: "edge", style: { width: 0.6, "line-color": "#c8c8c8", "curve-style": "straight", opacity: 0.7 } },
      { selector: "node:selected, node.hover", style: { "border-width": 3, "border-color": "#111" } },
      { selector: "edge.hover", style: { "line-color": "#555", width: 1.5, opacity: 1 } },
    ],
    layout: {
      name: "concentric",
      // Tier 1 in the centre, hubs on the next ring, supporters outside.
      // Values: 3 = tier 1, 2 = tier 2, [1, 2) = the tier-3 rings (see buildGraph).
      concentric: (n) => n.data("ring"),
      levelWidth: () => 1e-6,
      minNodeSpacing: 6,
      avoidOverlap: true,
      animate: false,
    },
  });
  cy.on("tap", "node", (e) => {
    location.hash = `#/account/${encodeURIComponent(e.target.id())}`;
  });
  cy.on("mouseover", "node", (e) => {
    const n = e.target;
    n.addClass("hover");
    n.connectedEdges().addClass("hover");
    const degree = n.data("tier") === 2 ? ` · ${n.connectedEdges().length} supporters drawn` : "";
    // Ids may be Arabic: isolate the id so it cannot reorder the rest of the line.
    const name = accountLabel(n.id(), net.accounts);
    const who = name === n.id() ? [h("bdi", { dir: "auto" }, n.id())] : [h("bdi", { dir: "auto" }, name), " (", h("bdi", { dir: "auto" }, n.id()), ")"];
    info.replaceChildren(...who, ` · ${TIER_STYLE[n.data("tier")].name}${degree}`);
  });
  cy.on("mouseout", "node", (e) => {
    e.target.removeClass("hover");
    e.target.connectedEdges().removeClass("hover");
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
