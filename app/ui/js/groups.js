// Lockstep groups as small cards (used by the wave and account pages).

import { api, enc } from "./api.js";
import { accountLink, empty, fmtInt, fmtScore, h, TIERS } from "./dom.js";

const MAX_GROUPS = 12;
const MAX_TARGETS = 5;

function card(g) {
  const tiers = Object.entries(g.tier_counts || {})
    .filter(([, n]) => n)
    .map(([t, n]) => h("li", {}, h("span", { class: `dot ${TIERS[t]?.cls || "tn"}` }), `${TIERS[t]?.name || t}: ${fmtInt(n)}`));
  const targets = (g.target_ids || []).slice(0, MAX_TARGETS);
  return h(
    "article",
    { class: "group-card", "data-testid": "group-card" },
    h("h3", { class: "mono", dir: "auto" }, g.group_id),
    h(
      "p",
      {},
      h("strong", {}, fmtInt(g.size)),
      " members · cohesion ",
      h("strong", {}, fmtScore(g.cohesion)),
      ` · ${fmtInt(g.wave_ids?.length ?? 0)} waves`,
    ),
    tiers.length ? h("ul", { class: "tier-counts" }, tiers) : null,
    targets.length
      ? h(
          "p",
          { class: "small" },
          "Struck: ",
          targets.flatMap((t, i) => [i ? ", " : "", accountLink(t, g.accounts)]),
          g.target_ids.length > MAX_TARGETS ? ` and ${fmtInt(g.target_ids.length - MAX_TARGETS)} more` : "",
        )
      : null,
  );
}

/** A grid of group cards, filled in as each group arrives; a missing group is noted, not fatal. */
export function groupCards(ctx, groupIds) {
  if (!groupIds?.length) return empty("Not part of any lockstep group.");
  const box = h("div", { class: "cards" });
  for (const id of groupIds.slice(0, MAX_GROUPS)) {
    const slot = h("article", { class: "group-card muted" }, h("h3", { class: "mono", dir: "auto" }, id), "loading…");
    box.append(slot);
    api(`/v1/groups/${enc(id)}`, { signal: ctx.signal })
      .then((g) => slot.replaceWith(card(g)))
      .catch((err) => {
        if (err.name === "AbortError") return;
        slot.replaceChildren(h("h3", { class: "mono", dir: "auto" }, id), h("p", { class: "small" }, err.message));
      });
  }
  if (groupIds.length > MAX_GROUPS) box.append(h("p", { class: "muted" }, `and ${groupIds.length - MAX_GROUPS} more groups`));
  return box;
}
