// Entry point: hash router, header (run status, API key), error banner.

import { api, ApiError, forgetKey, getKey, goKeyless, mayCall, setKey, setUnauthorizedHandler } from "./js/api.js";
import { fmtTime, h } from "./js/dom.js";
import { renderTargets } from "./js/targets.js";
import { renderWaves } from "./js/waves.js";
import { renderWave } from "./js/wave.js";
import { renderNetwork } from "./js/network.js";
import { renderAccount } from "./js/account.js";
import { mountSearch } from "./js/search.js";

const ROUTES = [
  [/^\/targets$/, renderTargets, "targets"],
  [/^\/waves$/, renderWaves, "waves"],
  [/^\/wave\/(.+)$/, renderWave, "waves"],
  [/^\/network$/, renderNetwork, "network"],
  [/^\/account\/(.+)$/, renderAccount, null],
];

const $ = (sel) => document.querySelector(sel);
const view = $("#view");
const banner = $("#error-banner");
const keyForm = $("#key-form");

// --- error banner ---------------------------------------------------------------

function showError(message) {
  $("#error-text").textContent = message;
  banner.hidden = false;
}
function clearError() {
  banner.hidden = true;
  $("#error-text").textContent = "";
}
$("#error-close").addEventListener("click", clearError);

// Last line of defence: nothing escapes as an uncaught error.
window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  if (e.reason?.name !== "AbortError") showError(String(e.reason?.message || e.reason));
});
window.addEventListener("error", (e) => {
  // Browsers report this benign layout notice as an error event; it is not one.
  if (String(e.message).includes("ResizeObserver loop")) return;
  showError(String(e.message || "Unexpected error"));
});

// --- API key ------------------------------------------------------------------------
// No request leaves before the tab has a key or the analyst chose to go without one: a
// request that is bound to fail with 401 would only litter the console. A 401 later (a
// revoked key, a service that turned authentication on) brings the form back.

const ASK = "Enter the service's API key (read scope), or continue without one if the service runs without authentication.";

function updateKeyControl() {
  const has = Boolean(getKey());
  $("#key-state").textContent = has ? "API key set" : "no API key";
  $("#key-forget").hidden = !has;
  $("#key-enter").hidden = has || !keyForm.hidden;
}

function openKeyForm(message = ASK) {
  $("#key-message").textContent = message;
  keyForm.hidden = false;
  updateKeyControl();
  $("#key-input").focus();
}

/** Close the form and (re)load the header status and the current page. */
function start() {
  keyForm.hidden = true;
  clearError();
  updateKeyControl();
  refreshRunStatus();
  route();
}

setUnauthorizedHandler((err) => {
  // The banner carries the service's detail; the form only asks for the key.
  const msg = err.sentKey ? `The service refused this API key: ${err.message}` : `The service needs an API key: ${err.message}`;
  forgetKey();
  openKeyForm(err.sentKey ? "That key was refused; enter another." : "This service needs an API key.");
  showError(msg);
});

keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("#key-input").value.trim();
  if (!key) return;
  setKey(key);
  $("#key-input").value = "";
  start();
});
$("#key-skip").addEventListener("click", () => {
  if (!getKey()) goKeyless();
  start();
});
$("#key-enter").addEventListener("click", () => openKeyForm());
mountSearch($("#search"), showError);
$("#key-forget").addEventListener("click", () => {
  forgetKey();
  openKeyForm("Key forgotten. " + ASK);
});

const keyFormOpen = () => !keyForm.hidden;

// --- latest analysis run ---------------------------------------------------------------

async function refreshRunStatus() {
  const el = $("#run-status");
  if (!mayCall()) {
    el.textContent = "Analysis status needs an API key";
    return;
  }
  try {
    const run = await api("/v1/analysis/runs/latest");
    const when = run.finished_at || run.started_at || run.created_at;
    el.replaceChildren(
      "Analysis ",
      h("span", { class: `run-state ${run.status}` }, run.status),
      h("span", { class: "muted" }, ` · ${fmtTime(when)}`),
    );
    const s = run.stats || {};
    el.title = `run ${run.run_id}` + (s.waves != null ? ` · ${s.waves} waves, ${s.orchestrated_waves ?? 0} orchestrated` : "");
  } catch (err) {
    // Status is secondary: a 404 means no run yet; other errors must not spam the banner.
    const known = { 404: "No analysis run yet", 401: "Analysis status needs an API key" };
    el.textContent = (err instanceof ApiError && known[err.status]) || "Analysis status unavailable";
    el.title = err.message || "";
  }
}

// --- router ------------------------------------------------------------------------------

let current = null; // {controller, cleanups}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/targets";
  const [path, qs = ""] = raw.split("?");
  return { path, query: new URLSearchParams(qs) };
}

async function route() {
  if (current) {
    current.controller.abort();
    for (const fn of current.cleanups) {
      try {
        fn();
      } catch {
        // A chart that failed to build has nothing to clean up.
      }
    }
  }
  delete document.body.dataset.ready;
  clearError();
  const { path, query } = parseHash();
  if (!location.hash) history.replaceState(null, "", "#/targets");
  if (!mayCall()) {
    view.replaceChildren(h("p", { class: "empty" }, "Enter an API key above to load the dashboard."));
    openKeyForm(keyForm.hidden ? ASK : $("#key-message").textContent);
    return;
  }

  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const ctx = {
    signal: controller.signal,
    query,
    onCleanup: (fn) => cleanups.push(fn),
    alive: () => !controller.signal.aborted,
    // Background refreshes wait while the tab is hidden or the key form is up.
    paused: () => document.hidden || keyFormOpen(),
    showError: (msg) => ctx.alive() && showError(msg),
    ready: (name) => {
      if (!controller.signal.aborted) document.body.dataset.ready = name;
    },
    // Pages render into a fresh element so a stale page can never write into a new one.
    view: h("div", { class: "page" }),
  };
  view.replaceChildren(ctx.view);

  const match = ROUTES.map(([re, fn, nav]) => [path.match(re), fn, nav]).find(([m]) => m);
  for (const a of document.querySelectorAll("nav a")) {
    if (match && a.dataset.nav === match[2]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!match) {
    ctx.view.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/targets" }, "Go to targets")));
    ctx.ready("notfound");
    return;
  }
  const [m, render] = match;
  try {
    await render(ctx, ...m.slice(1).map(decodeURIComponent));
  } catch (err) {
    if (err.name === "AbortError" || !ctx.alive()) return;
    if (err instanceof ApiError && err.status === 401) return; // key form is up
    showError(err.message || String(err));
    for (const el of ctx.view.querySelectorAll(".loading")) el.remove();
    ctx.view.append(h("p", { class: "empty" }, "Could not load everything on this page; see the error above."));
  }
}

/** A service may say on its public health check that it needs no key (`"auth": "disabled"`);
 * then the form is skipped. Without that hint the form asks first. */
async function boot() {
  if (!mayCall()) {
    try {
      const res = await fetch("/healthz", { cache: "no-store" });
      if (res.ok && (await res.json()).auth === "disabled") goKeyless();
    } catch {
      // No hint: ask for the key.
    }
  }
  updateKeyControl();
  refreshRunStatus();
  route();
}

window.addEventListener("hashchange", route);
setInterval(() => {
  if (!document.hidden && !keyFormOpen()) refreshRunStatus();
}, 10000);
boot();
