// The API client: bearer token kept in this tab's sessionStorage, JSON in
// and out, errors as ApiError carrying the API's {"error":{code,message}}.

const KEY = "conveyor-token";
let token = sessionStorage.getItem(KEY) || "";
const unauthorizedHandlers = [];

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // describe is what the user reads: "forbidden (403): …".
  describe() {
    return this.code ? `${this.code} (${this.status}): ${this.message}` : this.message;
  }
}

export function getToken() {
  return token;
}

export function setToken(t) {
  token = t.trim();
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

// onUnauthorized registers fn(err), called on every 401 answer.
export function onUnauthorized(fn) {
  unauthorizedHandlers.push(fn);
}

// api sends one request and returns the decoded body (null for 204).
// extraHeaders are added to the request (If-Match for conditional writes).
export async function api(method, path, body, extraHeaders) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (token) headers.Authorization = "Bearer " + token;
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", "cannot reach the server: " + e.message);
  }
  if (res.status === 204) return null;
  let data = null;
  const raw = await res.text();
  if (raw) {
    try {
      data = JSON.parse(raw);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(res.status, e.code || "http_" + res.status, e.message || res.statusText || "request failed");
    if (res.status === 401) unauthorizedHandlers.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

// query builds "?a=1&b=2" from the non-empty entries of obj.
export function query(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    p.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  // Commas separate list values; keep them readable in the hash.
  const s = p.toString().replace(/%2C/gi, ",");
  return s ? "?" + s : "";
}

export const enc = encodeURIComponent;
