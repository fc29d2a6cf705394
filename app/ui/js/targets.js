// Targets: who is under orchestrated attack, refreshed every few seconds.

import { api, enc } from "./api.js";
import { accountLink, empty, fmtInt, fmtTime, h, labelBadge, riskBar, table, tierBadge, waveLink } from "./dom.js";

const REFRESH_MS = 5000;
const EAGER_WAVES = 10; // newest wave looked up for the top rows only; the rest on request
const WAVE_TTL_MS = 60000;

// target id -> {wave|null, at}; survives refreshes so each target costs one call a minute.
const newestWaveCache = new Map();

async function newestWave(targetId, signal) {
  const hit = newestWaveCache.get(targetId);
  if (hit && Date.now() - hit.at < WAVE_TTL_MS) return hit.wave;
  const page = await api(`/v1/waves?target_id=${enc(targetId)}&limit=1000`, { signal });
  // Take the latest start ourselves rather than rely on the list's order.
  const wave = page.items.reduce((best, w) => (!best || w.start > best.start ? w : best), null);
  newestWaveCache.set(targetId, { wave, at: Date.now() });
  return wave;
}

// An account's explanations start with its own reporting ("filed 3 reports"); on this page
// only why it is a target matters: what struck it, then why that holds a suspension.
// Never a fact about its own reports.
const why = (explanations) => {
  const lines = explanations || [];
  const struck = lines.find((e) => e.startsWith("struck by "));
  const held = lines.find((e) => e.includes("against it") || e.includes("struck it in a burst"));
  if (!struck && !held) return h("span", { class: "muted" }, "reported only in waves judged organic; their low orchestration scores add up to this risk");
  return h("span", { dir: "auto" }, struck ?? held, struck && held ? h("span", { class: "small muted block" }, held) : null);
};

function waveCell(ctx, targetId, eager) {
  const cell = h("span", { class: "muted" }, "…");
  const load = async () => {
    cell.replaceChildren("…");
    try {
      const w = await newestWave(targetId, ctx.signal);
      cell.replaceChildren(w ? h("span", { class: "nowrap" }, waveLink(w.wave_id, fmtTime(w.start)), " ", labelBadge(w.label)) : "none");
    } catch (err) {
      if (err.name === "AbortError") return;
      cell.replaceChildren("—");
      ctx.showError(err.message);
    }
  };
  // Rows looked up before keep their answer across refreshes.
  if (eager || newestWaveCache.has(targetId)) load();
  else cell.replaceChildren(h("button", { type: "button", class: "link-button", onclick: load }, "look up"));
  return cell;
}

export async function renderTargets(ctx) {
  const updated = h("span", { class: "muted" }, "");
  const body = h("div", {}, h("p", { class: "muted loading" }, "Loading…"));
  ctx.view.append(
    h("div", { class: "page-head" }, h("h1", {}, "Targets under attack"), updated),
    h(
      "p",
      { class: "lede" },
      "Accounts with the highest target risk: the share of recent reports against them that came in orchestrated waves. Refreshes every 5 s.",
    ),
    body,
  );

  let names = {};
  const draw = (items) => {
    if (!items.length) {
      body.replaceChildren(empty("No targets yet: no analysis has finished, or no account is under orchestrated attack."));
      return;
    }
    const columns = [
      { title: "#", num: true, cell: (r) => String(r.rank) },
      { title: "Account", cell: (r) => accountLink(r.account_id, names) },
      { title: "Target risk", cell: (r) => riskBar(r.target_risk, { label: "target risk" }) },
      { title: "Reports received", num: true, cell: (r) => fmtInt(r.reports_received) },
      { title: "Tier", cell: (r) => tierBadge(r.tier, r.tier_label) },
      { title: "Why", cell: (r) => why(r.explanations) },
      { title: "Newest wave", cell: (r) => waveCell(ctx, r.account_id, r.rank <= EAGER_WAVES) },
    ];
    body.replaceChildren(
      table(
        columns,
        items.map((r, i) => ({ ...r, rank: i + 1 })),
        { testid: "targets-table" },
      ),
    );
  };

  let busy = false;
  const refresh = async (first) => {
    if (busy || (!first && ctx.paused())) return;
    busy = true;
    try {
      const page = await api("/v1/targets?limit=50", { signal: ctx.signal });
      if (!ctx.alive()) return;
      names = page.accounts || {};
      draw(page.items);
      updated.textContent = `updated ${fmtTime(new Date().toISOString())}`;
      ctx.ready("targets");
    } catch (err) {
      // Keep polling: the next refresh may succeed (a restarting service, a new key).
      if (err.name === "AbortError" || err.status === 401) return;
      ctx.showError(err.message);
      if (first) body.replaceChildren(empty("Targets could not be loaded; retrying every 5 s."));
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => refresh(false), REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
  await refresh(true);
}
