// DOM helpers. Every piece of data goes into the page as a text node or an
// attribute value set through the DOM, never as markup: job kinds, args and
// error messages cannot inject HTML or script.

export const STATES = ["scheduled", "queued", "running", "retrying", "completed", "failed", "cancelled"];

// h builds an element. attrs: plain attributes, plus "class", "on<event>"
// handlers and "dataset"; children: nodes, strings (text nodes), arrays,
// null/undefined/false (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

// s builds an SVG element the same way.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) {
      // Handlers are functions only: a string would be an inline handler.
      if (typeof v !== "function") throw new TypeError("h: " + k + " must be a function");
      el.addEventListener(k.slice(2), v);
    } else if (k === "href" && !/^[#/]/.test(String(v))) {
      // Links stay inside the app (no javascript: or other schemes).
      throw new TypeError("h: href must start with # or /");
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" && "value" in el) {
      el.value = v;
    } else if (k === "checked" || k === "selected" || k === "disabled") {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// text returns a value as display text ("" for null/undefined).
export function text(v) {
  return v === undefined || v === null ? "" : String(v);
}

export function stateBadge(state) {
  return h("span", { class: "badge state-" + (STATES.includes(state) ? state : "unknown") }, text(state));
}

// pretty renders JSON as indented text in a <pre>.
export function pretty(v) {
  let t;
  try {
    t = JSON.stringify(v, null, 2);
  } catch {
    t = String(v);
  }
  return h("pre", { class: "json" }, t === undefined ? "" : t);
}

const pad = (n) => String(n).padStart(2, "0");

// fmtTime shows a timestamp in local time: "2026-11-23 19:04:05".
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return text(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// fmtAge shows seconds as "4.2 s", "3 min", "2 h 5 min", "3 d".
export function fmtAge(sec) {
  if (sec === undefined || sec === null || isNaN(sec)) return "";
  sec = Math.max(0, sec);
  if (sec < 60) return sec.toFixed(sec < 10 ? 1 : 0) + " s";
  if (sec < 3600) return Math.floor(sec / 60) + " min";
  if (sec < 86400) return Math.floor(sec / 3600) + " h " + Math.floor((sec % 3600) / 60) + " min";
  return Math.floor(sec / 86400) + " d " + Math.floor((sec % 86400) / 3600) + " h";
}

// fmtRelative says how far a timestamp is from now: "in 3 min", "12 s ago".
export function fmtRelative(iso, now = Date.now()) {
  if (!iso) return "";
  const t = new Date(iso).getTime();
  if (isNaN(t)) return "";
  const d = (t - now) / 1000;
  return d >= 0 ? "in " + fmtAge(d) : fmtAge(-d) + " ago";
}

export function num(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : text(n);
}

// time element with the full timestamp as a tooltip.
export function timeEl(iso, relative = false) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: iso }, fmtTime(iso), relative ? h("span", { class: "muted", dataset: { rel: iso } }, " (" + fmtRelative(iso) + ")") : null);
}

// refreshRelative brings the "(in 3 min)" texts under root up to date, for
// pages that keep their nodes when the data did not change.
export function refreshRelative(root) {
  for (const el of root.querySelectorAll("[data-rel]")) el.textContent = " (" + fmtRelative(el.dataset.rel) + ")";
}

// table builds a table from column headers and rows of cells; a cell is a
// node, a string, or {v, cls} for a class on the <td>.
export function table(cls, headers, rows, empty = "nothing here") {
  const head = h("thead", null, h("tr", null, headers.map((x) => (typeof x === "string" ? h("th", null, x) : h("th", { class: x.cls }, x.v)))));
  const body = h("tbody");
  if (rows.length === 0) {
    body.appendChild(h("tr", null, h("td", { class: "empty", colspan: String(headers.length) }, empty)));
  }
  for (const r of rows) {
    body.appendChild(h("tr", r.attrs || null, (r.cells || r).map((c) => (c && typeof c === "object" && !(c instanceof Node) && "v" in c ? h("td", { class: c.cls }, c.v) : h("td", null, c)))));
  }
  return h("div", { class: "table-wrap" }, h("table", { class: cls }, head, body));
}
