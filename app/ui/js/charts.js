// uPlot helpers: report-count time series on a UTC time axis, sized to their container.
/* global uPlot */

import { fmtSpan } from "./dom.js";

export const COLORS = {
  orchestrated: { stroke: "#c62828", fill: "rgba(198, 40, 40, 0.28)" },
  organic: { stroke: "#3f6fb5", fill: "rgba(63, 111, 181, 0.22)" },
};

const iso = (ts) => new Date(ts * 1000).toISOString();

/** Tick labels in the page's UTC ISO style: "14:30" with the date where it changes. */
function timeTicks(_u, splits, _axis, _space, incr) {
  if (incr >= 86400) return splits.map((ts) => iso(ts).slice(0, 10));
  let lastDay = "";
  return splits.map((ts) => {
    const s = iso(ts);
    const day = s.slice(0, 10);
    const label = day === lastDay ? s.slice(11, 16) : `${s.slice(11, 16)}\n${day}`;
    lastDay = day;
    return label;
  });
}

const fmtCount = (_u, v) => (v == null ? "—" : Number.isInteger(v) ? String(v) : v.toFixed(1));

/**
 * Draw bucketed counts into `container`. data = [xs (unix s), ...ys]; series = [{label, color}].
 * Returns the uPlot instance; `ctx.onCleanup` disposes of it and its resize observer.
 */
export function countChart(ctx, container, { data, series, bucketS, height = 280 }) {
  const width = () => Math.max(280, container.clientWidth);
  const opts = {
    width: width(),
    height,
    // Show the time axis and legend in UTC, like every other time on the page.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales: { x: { time: true } },
    padding: [12, 36, 0, 0], // room for the last date label on the right

    cursor: { drag: { x: true, y: false } },
    axes: [
      // ISO dates are wide: keep ticks ~90 px apart so narrow screens do not overlap them.
      { stroke: "#333", grid: { stroke: "#eee" }, values: timeTicks, size: 56, space: 90 },
      { label: `reports per ${fmtSpan(bucketS)}`, stroke: "#333", grid: { stroke: "#eee" }, size: 60 },
    ],
    series: [
      { label: "time", value: (_u, ts) => (ts == null ? "—" : `${iso(ts).slice(0, 19).replace("T", " ")} UTC`) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color.stroke,
        fill: s.color.fill,
        width: 1.5,
        // Each value counts one bucket [x, x + bucket): draw it as a step, not a slope.
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: fmtCount,
      })),
    ],
  };
  // A step is drawn up to the next x: close the last bucket so it gets its width too.
  const [xs, ...ys] = data;
  const closed = xs.length ? [[...xs, xs[xs.length - 1] + bucketS], ...ys.map((y) => [...y, 0])] : data;
  const plot = new uPlot(opts, closed, container);
  // Resize on the next frame: resizing inside the observer callback re-triggers it.
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (Math.abs(plot.width - width()) > 2) plot.setSize({ width: width(), height });
    });
  });
  observer.observe(container);
  ctx.onCleanup(() => {
    observer.disconnect();
    cancelAnimationFrame(frame);
    plot.destroy();
  });
  return plot;
}

// Common bucket lengths (seconds) for the all-waves timeline, smallest first.
const STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/**
 * Put every wave's arrivals on one grid: one-minute buckets, or the smallest coarser
 * step that keeps the series at or under `maxPoints`. Each wave bucket is spread evenly
 * over the grid buckets it overlaps, so waves with different bucket_s add up fairly.
 */
export function binWaves(waves, maxPoints = 2000) {
  let t0 = Infinity;
  let t1 = -Infinity;
  const spans = [];
  for (const w of waves) {
    const start = Date.parse(w.start) / 1000;
    const b = w.arrivals?.bucket_s;
    const counts = w.arrivals?.counts;
    if (!Number.isFinite(start) || !b || !counts?.length) continue;
    spans.push({ start, b, counts, orch: w.label === "orchestrated" });
    t0 = Math.min(t0, start);
    t1 = Math.max(t1, start + counts.length * b);
  }
  if (!spans.length) return null;
  const span = t1 - t0;
  const step = STEPS.find((s) => span / s <= maxPoints) ?? Math.ceil(span / maxPoints / 86400) * 86400;
  const origin = Math.floor(t0 / step) * step; // aligned to UTC step boundaries
  const n = Math.max(1, Math.ceil((t1 - origin) / step));
  const xs = Array.from({ length: n }, (_, i) => origin + i * step);
  const orch = new Array(n).fill(0);
  const org = new Array(n).fill(0);
  for (const { start, b, counts, orch: isOrch } of spans) {
    const out = isOrch ? orch : org;
    counts.forEach((c, i) => {
      if (!c) return;
      let a = start + i * b;
      const end = a + b;
      let k = Math.floor((a - origin) / step);
      while (a < end && k < n) {
        const part = Math.min(end, origin + (k + 1) * step) - a;
        out[k] += (c * part) / b;
        a += part;
        k += 1;
      }
    });
  }
  // Round away floating-point dust from the spreading.
  const tidy = (arr) => arr.map((v) => Math.round(v * 100) / 100);
  return { step, xs, orchestrated: tidy(orch), organic: tidy(org) };
}
