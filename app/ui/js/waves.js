// Waves: reports over time for all waves (orchestrated vs organic) and the newest waves.

import { apiAll } from "./api.js";
import { binWaves, COLORS, countChart } from "./charts.js";
import { accountLink, empty, fmtInt, fmtScore, fmtSpan, fmtTime, h, labelBadge, section, table, waveLink } from "./dom.js";

const MAX_WAVES = 5000;
const MAX_ROWS = 200;
const LABELS = ["all", "orchestrated", "organic"];

export async function renderWaves(ctx) {
  let label = LABELS.includes(ctx.query.get("label")) ? ctx.query.get("label") : "all";
  ctx.view.append(h("div", { class: "page-head" }, h("h1", {}, "Waves")), h("p", { class: "muted loading" }, "Loading waves…"));

  const { items: waves, truncated, accounts: names } = await apiAll(`/v1/waves?limit=1000`, { signal: ctx.signal, max: MAX_WAVES });
  if (!ctx.alive()) return;
  ctx.view.lastChild.remove();

  if (!waves.length) {
    ctx.view.append(empty("No waves yet: the first analysis run has not finished, or it found no reporting waves."));
    ctx.ready("waves");
    return;
  }
  const byNewest = [...waves].sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : 0));
  const nOrch = waves.filter((w) => w.label === "orchestrated").length;

  // --- filter ---
  const select = h(
    "select",
    { id: "label-filter", "data-testid": "label-filter" },
    LABELS.map((l) => h("option", { value: l, selected: l === label }, l)),
  );
  ctx.view.append(
    h(
      "div",
      { class: "toolbar" },
      h("span", {}, `${fmtInt(waves.length)} waves${truncated ? ` (first ${fmtInt(MAX_WAVES)} only)` : ""}: `),
      labelBadge("orchestrated"),
      ` ${fmtInt(nOrch)} `,
      labelBadge("organic"),
      ` ${fmtInt(waves.length - nOrch)}`,
      h("span", { class: "spacer" }),
      h("label", { for: "label-filter" }, "Label "),
      select,
    ),
  );

  // --- timeline ---
  const binned = binWaves(waves);
  const chartBox = h("div", { class: "chart", "data-testid": "timeline-chart", id: "timeline-chart" });
  ctx.view.append(
    section(
      "Reports over time",
      h(
        "p",
        { class: "muted" },
        binned
          ? `Reports in all waves, summed per ${fmtSpan(binned.step)} (UTC). Drag to zoom, double-click to reset.`
          : "The waves carry no arrival counts.",
      ),
      chartBox,
    ),
  );
  let plot = null;
  if (binned) {
    plot = countChart(ctx, chartBox, {
      data: [binned.xs, binned.organic, binned.orchestrated],
      // Organic first so the orchestrated series draws on top of it.
      series: [
        { label: "organic", color: COLORS.organic },
        { label: "orchestrated", color: COLORS.orchestrated },
      ],
      bucketS: binned.step,
    });
  }

  // --- table ---
  const tableBox = h("div");
  ctx.view.append(section("Newest waves", tableBox));
  const columns = [
    { title: "Wave", cell: (w) => waveLink(w.wave_id) },
    { title: "Target", cell: (w) => accountLink(w.target_id, names) },
    { title: "Start", cell: (w) => h("span", { class: "nowrap" }, fmtTime(w.start)) },
    { title: "Reports", num: true, cell: (w) => fmtInt(w.report_count) },
    { title: "Reporters", num: true, cell: (w) => fmtInt(w.reporter_count) },
    { title: "Score", num: true, cell: (w) => fmtScore(w.score) },
    { title: "Label", cell: (w) => labelBadge(w.label) },
    { title: "Status", cell: (w) => (w.provisional ? `${w.status} (provisional)` : w.status) },
  ];
  const drawTable = () => {
    const rows = byNewest.filter((w) => label === "all" || w.label === label);
    const shown = rows.slice(0, MAX_ROWS);
    tableBox.replaceChildren(
      h("p", { class: "muted" }, `Showing ${fmtInt(shown.length)} of ${fmtInt(rows.length)} ${label === "all" ? "" : `${label} `}waves, newest first.`),
      shown.length
        ? table(columns, shown, {
            testid: "waves-table",
            // The whole row opens the wave; links inside keep their own target.
            rowAttrs: (w) => ({
              class: "clickable",
              onclick: (e) => {
                if (!e.target.closest("a")) location.hash = `#/wave/${encodeURIComponent(w.wave_id)}`;
              },
            }),
          })
        : empty("No waves with this label."),
    );
    // Series 1 = organic, 2 = orchestrated: hide the one filtered out.
    if (plot) {
      plot.setSeries(1, { show: label !== "orchestrated" });
      plot.setSeries(2, { show: label !== "organic" });
    }
  };
  select.addEventListener("change", () => {
    label = select.value;
    // Keep the filter in the address without a hashchange (which would reload the page).
    history.replaceState(null, "", label === "all" ? "#/waves" : `#/waves?label=${label}`);
    drawTable();
  });
  drawTable();
  ctx.ready("waves");
}
