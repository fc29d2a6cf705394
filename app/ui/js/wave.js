// One wave: score and label, arrival curve, signals and explanations, who ran it.

import { api, ApiError, enc } from "./api.js";
import { COLORS, countChart } from "./charts.js";
import {
  accountLink, bdi, empty, facts, fmtDuration, fmtInt, fmtScore, fmtTime, h, humanize, labelBadge, riskBar, section, table,
} from "./dom.js";
import { groupCards } from "./groups.js";

const MAX_REPORTERS = 200;

// Raw measures by name: a 0.4 h duration is not a 40% share.
const RAW_SIGNAL = /^log_|_(hours|days|count|seconds|s)$/;

// name -> {definition, organic_median}: fetched once, for every wave page.
let catalogue = null;
async function signalCatalogue() {
  // Shared by every wave page, so not tied to one page's abort signal.
  catalogue ??= api("/v1/signals").then((c) => Object.fromEntries(c.items.map((s) => [s.name, s])));
  try {
    return await catalogue;
  } catch {
    catalogue = null; // try again on the next page; the page goes on without definitions
    return {};
  }
}

const fmtSignal = (v) => fmtScore(v, Math.abs(v) >= 100 ? 0 : 2);

/** How far a signal moved the score, in log-odds, and which way. */
function push(contribution) {
  if (contribution == null || Math.abs(contribution) < 0.05) return h("span", { class: "push none" }, "no effect");
  const toward = contribution > 0 ? "orchestrated" : "organic";
  return h("span", { class: `push ${toward}`, title: `moved the score ${Math.abs(contribution).toFixed(2)} log-odds toward ${toward}` }, `${contribution > 0 ? "+" : "−"}${Math.abs(contribution).toFixed(2)} ${toward}`);
}

/** Signals are mostly shares in [0, 1]; the few raw measures (hours, days) get no bar.
 *  Each row: name (its definition as tooltip), value, the organic reference, its push. */
function signalRows(w, known) {
  const entries = Object.entries(w.signals || {});
  // Strongest push first: what decided the score leads.
  entries.sort(([a], [b]) => Math.abs(w.contributions?.[b] ?? 0) - Math.abs(w.contributions?.[a] ?? 0));
  const rows = entries.map(([name, v]) => {
    const share = typeof v === "number" && v >= 0 && v <= 1 && !RAW_SIGNAL.test(name);
    const info = known[name];
    return h(
      "div",
      { class: "signal", "data-signal": name },
      h("span", { class: "signal-name", title: info?.definition ?? null, tabindex: info ? "0" : null }, humanize(name)),
      share ? riskBar(v, { label: humanize(name), wide: true }) : h("span", { class: "risk wide" }, h("span", { class: "bar raw" }), h("span", { class: "num" }, fmtSignal(v))),
      h("span", { class: "signal-ref muted small" }, info ? `organic ≈ ${fmtSignal(info.organic_median)}` : ""),
      push(w.contributions?.[name]),
    );
  });
  return rows.length ? rows : [empty("No signals.")];
}

export async function renderWave(ctx, waveId) {
  let w;
  try {
    w = await api(`/v1/waves/${enc(waveId)}`, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    ctx.view.append(h("h1", {}, "Wave not found"), h("p", {}, err.message), h("p", {}, h("a", { href: "#/waves" }, "All waves")));
    ctx.ready("wave");
    return;
  }
  const known = await signalCatalogue();
  if (!ctx.alive()) return;
  const color = w.label === "orchestrated" ? COLORS.orchestrated : COLORS.organic;

  // --- header ---
  ctx.view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Wave ", h("span", { class: "mono", dir: "auto" }, w.wave_id)),
      labelBadge(w.label),
      h("span", { class: `score-big ${w.label === "orchestrated" ? "orch" : "org"}`, title: "orchestration score" }, fmtScore(w.score)),
    ),
    facts([
      ["Target", accountLink(w.target_id, w.accounts)],
      w.content_id ? ["Content", h("span", { dir: "auto", class: "mono" }, w.content_id)] : null,
      ["Start", fmtTime(w.start)],
      ["End", `${fmtTime(w.end)} (${fmtDuration(w.start, w.end)})`],
      ["Reports", `${fmtInt(w.report_count)} from ${fmtInt(w.reporter_count)} reporters`],
      ["Status", w.provisional ? `${w.status}, provisional` : w.status],
      [
        "Top reasons",
        Object.entries(w.top_reasons || {}).length
          ? h("span", { class: "chips" }, Object.entries(w.top_reasons).map(([r, n]) => h("span", { class: "chip" }, bdi(humanize(r)), ` ${fmtInt(n)}`)))
          : "—",
      ],
    ]),
  );

  // --- arrivals ---
  const chartBox = h("div", { class: "chart", "data-testid": "arrival-chart", id: "arrival-chart" });
  ctx.view.append(section("Report arrivals", chartBox));
  const { bucket_s: b = 60, counts = [] } = w.arrivals || {};
  const t0 = Date.parse(w.start) / 1000;
  if (counts.length) {
    countChart(ctx, chartBox, {
      data: [counts.map((_, i) => t0 + i * b), counts],
      series: [{ label: w.label || "reports", color }],
      bucketS: b,
      height: 240,
    });
  } else chartBox.append(empty("No arrival counts recorded."));

  // --- why ---
  ctx.view.append(
    h(
      "div",
      { class: "two-col" },
      section(
        "Signals",
        h("div", { class: "signals", "data-testid": "signals" }, signalRows(w, known)),
        h("p", { class: "small muted" }, "Strongest first. Hover a name for its definition. Bars show shares from 0 to 1; hatched rows are raw measures (log counts, hours, days). \u201corganic \u2248\u201d is the median in organic waves; the last column is how far the signal moved the score (log-odds)."),
      ),
      section(
        "Why",
        w.explanations?.length
          ? h("ul", { class: "why", "data-testid": "explanations" }, w.explanations.map((e) => h("li", { dir: "auto" }, e)))
          : empty("No explanations."),
      ),
    ),
  );

  // --- who ---
  const orch = w.orchestrators || [];
  ctx.view.append(
    section(
      "Orchestrators",
      orch.length
        ? table(
            [
              { title: "Account", cell: (o) => accountLink(o.account_id, w.accounts) },
              { title: "Score", cell: (o) => riskBar(o.score, { label: "share of the reporters who follow or amplify it" }) },
              { title: "How found", cell: (o) => (o.inferred ? "inferred: many reporters follow it; no post ordered the wave" : "named the target just before the wave") },
              {
                title: "Naming post",
                cell: (o) =>
                  o.directive
                    ? h("div", { class: "directive" }, h("div", { class: "small muted" }, fmtTime(o.directive.created_at)), h("div", { dir: "auto", class: "post-text" }, o.directive.text ?? `post ${o.directive.post_id}`))
                    : "—",
              },
            ],
            orch,
            { testid: "orchestrators-table" },
          )
        : empty("No orchestrating account identified."),
    ),
    section(
      "What the reporters wrote",
      w.sample_texts?.length
        ? h(
            "ul",
            { class: "report-texts", "data-testid": "report-texts" },
            w.sample_texts.map((t) => h("li", { dir: "auto" }, t)),
          )
        : empty("The reports carried no text."),
      h("p", { class: "small muted" }, "Up to five of the reports' own texts, most repeated first: the same words filed again and again suggest a pasted order."),
    ),
    section("Lockstep groups", groupCards(ctx, w.group_ids)),
  );

  const reporters = [...(w.reporters || [])].sort((a, b2) => (b2.reporter_risk ?? 0) - (a.reporter_risk ?? 0));
  const shown = reporters.slice(0, MAX_REPORTERS);
  ctx.view.append(
    section(
      `Reporters (${fmtInt(reporters.length)})`,
      shown.length
        ? table(
            [
              { title: "#", num: true, cell: (r) => String(r.rank) },
              { title: "Account", cell: (r) => accountLink(r.account_id, w.accounts) },
              { title: "Reporter risk", cell: (r) => riskBar(r.reporter_risk, { label: "reporter risk" }) },
            ],
            shown.map((r, i) => ({ ...r, rank: i + 1 })),
            { testid: "reporters-table", compact: true },
          )
        : empty("No reporters listed."),
      reporters.length > MAX_REPORTERS
        ? h("p", { class: "muted" }, `and ${fmtInt(reporters.length - MAX_REPORTERS)} more reporters not shown.`)
        : null,
    ),
  );
  ctx.ready("wave");
}
