// Calls to the service: adds the API key, turns RFC 9457 problems into ApiError.

const KEY_STORAGE = "mrd.apiKey";
const KEYLESS_STORAGE = "mrd.keyless"; // the analyst chose to go on without a key

export const getKey = () => sessionStorage.getItem(KEY_STORAGE) || "";
export const setKey = (key) => {
  sessionStorage.setItem(KEY_STORAGE, key);
  sessionStorage.removeItem(KEYLESS_STORAGE);
};
export const forgetKey = () => {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(KEYLESS_STORAGE);
};
export const isKeyless = () => sessionStorage.getItem(KEYLESS_STORAGE) === "1";
export const goKeyless = () => sessionStorage.setItem(KEYLESS_STORAGE, "1");
/** True once the tab has a key, or was told the service needs none. */
export const mayCall = () => Boolean(getKey()) || isKeyless();

export class ApiError extends Error {
  constructor(status, detail, problem = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

// The app registers what to do on a 401 (show the key form); api.js stays UI-free.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** GET a JSON document from the service. Throws ApiError (or AbortError). */
export async function api(path, { signal } = {}) {
  const headers = { Accept: "application/json" };
  const key = getKey();
  // No key yet: try without one, the service may run with auth disabled.
  if (key) headers["X-API-Key"] = key;
  let res;
  try {
    res = await fetch(path, { headers, signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `The service could not be reached (${err.message}).`);
  }
  if (res.ok) return res.json();
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    // Not JSON (a proxy error page, say): fall back to the status line.
  }
  const detail =
    (problem && (problem.detail || problem.title)) ||
    `${res.status} ${res.statusText || "error"}`;
  const err = new ApiError(res.status, detail, problem);
  err.sentKey = Boolean(key); // a refused key and a missing one read differently
  if (res.status === 401) onUnauthorized(err);
  throw err;
}

/** Every page of a cursor-paginated list, up to `max` items. */
export async function apiAll(path, { signal, max = 5000 } = {}) {
  const items = [];
  const accounts = {};
  let cursor = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
    const page = await api(url, { signal });
    items.push(...page.items);
    Object.assign(accounts, page.accounts || {});
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return { items: items.slice(0, max), truncated: Boolean(cursor) || items.length > max, accounts };
}

export const enc = encodeURIComponent;
