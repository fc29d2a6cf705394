// One account: its risks, tier, reliability, groups, re-creation link and the waves against it.

import { api, ApiError, enc } from "./api.js";
import {
  accountLink, bdi, empty, facts, fmtInt, fmtPct, fmtScore, fmtTime, h, labelBadge, riskBar, section, table, tierBadge, waveLink,
} from "./dom.js";
import { groupCards } from "./groups.js";

/** Metadata is optional: an older service without GET /v1/accounts/{id} just omits it. */
async function metadata(ctx, id) {
  try {
    return await api(`/v1/accounts/${enc(id)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && [404, 405].includes(err.status)) return null;
    throw err;
  }
}

function metaBlock(m) {
  return section(
    "Profile",
    h(
      "p",
      { class: "profile-name" },
      // Display names and handles are user text, often Arabic: each is its own isolate.
      m.display_name ? h("bdi", { dir: "auto", class: "display-name" }, m.display_name) : null,
      // A plain space between the isolates: it takes the page's direction, unlike a margin.
      m.display_name && m.handle ? " " : null,
      m.handle ? h("span", { class: "handle" }, "@", h("bdi", { dir: "auto" }, m.handle)) : null,
      m.verified ? h("span", { class: "badge ok" }, "verified") : null,
    ),
    facts([
      ["Created", fmtTime(m.created_at)],
      ["Followers", fmtInt(m.followers_count)],
      ["Following", fmtInt(m.following_count)],
      ["Status", m.status_changed_at ? `${m.status ?? "—"} since ${fmtTime(m.status_changed_at)}` : (m.status ?? "—")],
      m.labels?.length ? ["Labels", h("span", { class: "chips" }, m.labels.map((l) => h("span", { class: "chip" }, bdi(l))))] : null,
    ]),
  );
}

export async function renderAccount(ctx, accountId) {
  ctx.view.append(h("div", { class: "page-head" }, h("h1", {}, "Account ", h("bdi", { dir: "auto" }, accountId))));
  let risk;
  const meta = metadata(ctx, accountId); // in parallel with the risk
  meta.catch(() => {}); // its error, if any, is reported below, once
  try {
    risk = await api(`/v1/accounts/${enc(accountId)}/risk`, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    ctx.view.append(section(null, empty(`This account was never seen in the ingested data. (${err.message})`)));
    ctx.ready("account");
    return;
  }
  const m = await meta;
  if (!ctx.alive()) return;
  if (m) ctx.view.append(metaBlock(m));

  const rel = risk.reliability || {};
  ctx.view.append(
    h(
      "div",
      { class: "two-col" },
      section(
        "Risk",
        h(
          "div",
          { "data-testid": "account-risk", class: "risk-block" },
          h("div", { class: "gauge-row" }, h("span", {}, "Reporter risk"), riskBar(risk.reporter_risk, { label: "reporter risk", wide: true })),
          h("p", { class: "small muted" }, "Takes part in orchestrated reporting."),
          h("div", { class: "gauge-row" }, h("span", {}, "Target risk"), riskBar(risk.target_risk, { label: "target risk", wide: true })),
          h("p", { class: "small muted" }, "Is being hit by orchestrated reporting."),
          h("div", { class: "gauge-row" }, h("span", {}, "Orchestrator risk"), riskBar(risk.orchestrator_risk ?? 0, { label: "orchestrator risk", wide: true })),
          h("p", { class: "small muted" }, "Directs orchestrated reporting: named targets just before orchestrated waves (a ranking for review, not a probability)."),
          facts([
            ["Tier", h("span", {}, tierBadge(risk.tier, risk.tier_label), risk.tier != null ? ` confidence ${fmtPct(risk.tier_confidence)}` : "")],
            [
              "Re-created from",
              risk.recreated_from ? h("span", {}, accountLink(risk.recreated_from, risk.accounts), " (its earlier account)") : "—",
            ],
            ["Updated", fmtTime(risk.updated_at)],
          ]),
        ),
      ),
      section(
        "Reliability as a reporter",
        h(
          "div",
          { class: "stats" },
          [
            ["reports filed", fmtInt(rel.reports)],
            ["upheld", fmtInt(rel.upheld)],
            ["unfounded", fmtInt(rel.unfounded)],
            ["score", fmtScore(rel.score)],
          ].map(([k, v]) => h("div", { class: "stat" }, h("span", { class: "stat-value" }, v), h("span", { class: "stat-label" }, k))),
        ),
        h("p", { class: "small muted" }, "Score = (upheld + 1) / (upheld + unfounded + 2); 0.5 means no decisions yet."),
        h("h3", {}, "Why"),
        risk.explanations?.length
          ? h("ul", { class: "why" }, risk.explanations.map((e) => h("li", { dir: "auto" }, e)))
          : empty("No explanations."),
      ),
    ),
    section("Lockstep groups", groupCards(ctx, risk.group_ids)),
    section(
      `Waves it directed (${fmtInt((risk.waves_directed || []).length)})`,
      risk.waves_directed?.length
        ? table(
            [
              { title: "Wave", cell: (d) => waveLink(d.wave_id) },
              { title: "Target", cell: (d) => accountLink(d.target_id, risk.accounts) },
              { title: "Start", cell: (d) => h("span", { class: "nowrap" }, fmtTime(d.start)) },
              { title: "Wave score", num: true, cell: (d) => fmtScore(d.score) },
              { title: "Attribution", cell: (d) => riskBar(d.attribution, { label: "share of the wave's reporters in its audience" }) },
              { title: "How", cell: (d) => (d.inferred ? "inferred from shared followings" : "named the target just before") },
            ],
            risk.waves_directed,
            { testid: "directed-waves-table" },
          )
        : empty("It is not listed as directing any orchestrated wave."),
    ),
  );

  // Waves against this account, newest first.
  const wavesBox = h("div", {}, h("p", { class: "muted loading" }, "Loading…"));
  ctx.view.append(section("Waves against this account", wavesBox));
  const page = await api(`/v1/waves?target_id=${enc(accountId)}&limit=1000`, { signal: ctx.signal });
  if (!ctx.alive()) return;
  const waves = [...page.items].sort((a, b) => (a.start < b.start ? 1 : -1));
  wavesBox.replaceChildren(
    ...[
      waves.length
      ? table(
          [
            { title: "Wave", cell: (w) => waveLink(w.wave_id) },
            { title: "Start", cell: (w) => h("span", { class: "nowrap" }, fmtTime(w.start)) },
            { title: "Reports", num: true, cell: (w) => fmtInt(w.report_count) },
            { title: "Score", num: true, cell: (w) => fmtScore(w.score) },
            { title: "Label", cell: (w) => labelBadge(w.label) },
            { title: "Status", cell: (w) => w.status },
          ],
          waves,
          { testid: "account-waves-table" },
        )
      : empty("No reporting waves against this account."),
      page.next_cursor ? h("p", { class: "muted" }, "Only the newest 1,000 waves are listed.") : null,
    ].filter(Boolean),
  );
  ctx.ready("account");
}
