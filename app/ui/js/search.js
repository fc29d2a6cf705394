// The header's search box: accounts by id, handle or display name (GET /v1/accounts?q=).

import { api, enc } from "./api.js";
import { accountLink, h } from "./dom.js";

const WAIT_MS = 250; // after the last keystroke
const SHOWN = 10;

export function mountSearch(form, showError) {
  const input = form.querySelector("input");
  const list = form.querySelector("ul");
  let timer = null;
  let asked = 0; // only the newest question's answer is drawn
  let matches = [];

  const hide = () => {
    list.hidden = true;
  };
  const draw = (items, text) => {
    matches = items;
    const names = Object.fromEntries(items.map((m) => [m.account_id, m]));
    list.replaceChildren(
      ...(items.length
        ? items.map((m) => h("li", {}, accountLink(m.account_id, names)))
        : [h("li", { class: "muted" }, "No account matches ", h("bdi", { dir: "auto" }, text), ".")]),
    );
    list.hidden = false;
  };
  const ask = async () => {
    const text = input.value.trim();
    if (!text) return hide();
    const mine = ++asked;
    try {
      const page = await api(`/v1/accounts?q=${enc(text)}&limit=${SHOWN}`);
      if (mine === asked) draw(page.items, text);
    } catch (err) {
      if (mine === asked && err.status !== 401) showError(err.message);
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearTimeout(timer);
    await ask();
    if (matches.length) location.hash = `#/account/${enc(matches[0].account_id)}`;
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") hide();
  });
  // A chosen account, or a click elsewhere, closes the list.
  list.addEventListener("click", (e) => {
    if (e.target.closest("a")) hide();
  });
  document.addEventListener("click", (e) => {
    if (!form.contains(e.target)) hide();
  });
  window.addEventListener("hashchange", hide);
}
