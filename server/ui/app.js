// conveyor admin UI: hash routing over plain ES modules, no build step.
// Pages: #/ (dashboard), #/jobs?state=…, #/jobs/ID, #/queues, #/schedules,
// #/webhooks, #/webhooks/ID (its deliveries).
// Every page is a module whose mount(view, route, ctx) draws into view and
// returns {refresh, dispose}; refresh runs every 2 s after the queue poll.
import { api, getToken, setToken, onUnauthorized, ApiError } from "./api.js";
import { h, STATES } from "./dom.js";
import * as dashboard from "./dashboard.js";
import * as jobs from "./jobs.js";
import * as job from "./job.js";
import * as queues from "./queues.js";
import * as schedules from "./schedules.js";
import * as webhooks from "./webhooks.js";
import { connectStream, remember } from "./live.js";

const POLL_MS = 2000;
const MAX_SAMPLES = 91; // 3 minutes of 2 s polls

const routes = [
  { re: /^\/?$/, page: dashboard, name: "dashboard" },
  { re: /^\/jobs\/([^/]+)$/, page: job, name: "jobs" },
  { re: /^\/jobs\/?$/, page: jobs, name: "jobs" },
  { re: /^\/queues\/?$/, page: queues, name: "queues" },
  { re: /^\/schedules\/?$/, page: schedules, name: "schedules" },
  { re: /^\/webhooks\/([^/]+)$/, page: webhooks, name: "webhooks" },
  { re: /^\/webhooks\/?$/, page: webhooks, name: "webhooks" },
];

const view = document.getElementById("view");
const live = document.getElementById("live");

// The queue poll is shared: the dashboard's throughput chart needs a
// history of totals that outlives page switches.
const state = {
  queues: null, // the last GET /api/v1/queues answer's queues
  samples: [], // {t, completed, failed} totals per poll
  error: null,
  events: [], // the latest job events from the stream, newest first
  streaming: false, // whether the event stream is open
};

let current = null; // {gen, refresh, dispose}
let gen = 0;
let ticking = false;
let lastTick = 0;

// decodeArg decodes a path segment, keeping a malformed one as typed.
function decodeArg(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const qi = raw.indexOf("?");
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? "" : raw.slice(qi + 1));
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) return { ...r, path, params, args: m.slice(1).map(decodeArg) };
  }
  return { page: null, name: "", path, params, args: [] };
}

// ---- flash messages and confirmation ----

const flashArea = document.getElementById("flash");

// flash shows a message: kind "ok" fades after a few seconds, "error"
// stays until dismissed or replaced.
export function flash(message, kind = "ok") {
  const close = h("button", { class: "ghost small", type: "button", "aria-label": "dismiss" }, "×");
  const el = h("div", { class: "flash flash-" + kind, role: kind === "error" ? "alert" : "status" }, h("span", { class: "flash-text" }, message), close);
  close.addEventListener("click", () => el.remove());
  // One message at a time keeps the page calm; an error stays until it is
  // dismissed or something else is reported.
  for (const old of flashArea.querySelectorAll(".flash")) old.remove();
  flashArea.appendChild(el);
  if (kind !== "error") setTimeout(() => el.remove(), 6000);
}

const dialog = document.getElementById("confirm");
let answer = null;

// confirm asks a yes/no question in a modal dialog.
export function confirm(question, okLabel = "Confirm") {
  document.getElementById("confirm-text").textContent = question;
  document.getElementById("confirm-yes").textContent = okLabel;
  if (answer) answer(false);
  return new Promise((resolve) => {
    answer = resolve;
    dialog.showModal();
  });
}

function settle(v) {
  const a = answer;
  answer = null;
  if (dialog.open) dialog.close();
  if (a) a(v);
}
document.getElementById("confirm-yes").addEventListener("click", () => settle(true));
document.getElementById("confirm-no").addEventListener("click", () => settle(false));
dialog.addEventListener("cancel", () => settle(false));

// ---- token ----

const auth = document.getElementById("auth");
const authMsg = document.getElementById("auth-msg");

function showAuth(message) {
  if (message) authMsg.textContent = message;
  auth.hidden = false;
  document.getElementById("token").focus();
}

onUnauthorized((err) => {
  showAuth((getToken() ? "The token was refused: " : "This server needs an API token: ") + err.message + ". It is kept in this tab only.");
});

document.getElementById("auth-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token");
  setToken(input.value);
  input.value = "";
  auth.hidden = true;
  flash(getToken() ? "token saved for this tab" : "token cleared");
  startStream();
  navigate();
});
document.getElementById("forget").addEventListener("click", () => {
  setToken("");
  flash("token cleared");
  startStream();
  navigate();
});
document.getElementById("token-button").addEventListener("click", () => {
  if (auth.hidden) showAuth();
  else auth.hidden = true;
});

// ---- polling ----

function totals(qs) {
  const t = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const q of qs) for (const s of STATES) t[s] += q.counts[s] || 0;
  return t;
}

async function pollQueues() {
  const body = await api("GET", "/api/v1/queues");
  state.queues = body.queues;
  // Throughput samples at least a second apart: an extra poll right after
  // an action would turn one finished job into a spike of jobs per second.
  const last = state.samples[state.samples.length - 1];
  if (!last || Date.now() - last.t >= 1000) {
    const t = totals(body.queues);
    state.samples.push({ t: Date.now(), completed: t.completed, failed: t.failed });
    if (state.samples.length > MAX_SAMPLES) state.samples.shift();
  }
  return body.queues;
}

function liveText() {
  return "live · " + new Date().toLocaleTimeString() + (state.streaming ? " · events" : "");
}

// nudge polls soon after an event instead of at the next tick, at most
// once a second however many events arrive.
let nudgeTimer = null;
function nudge() {
  if (nudgeTimer) return;
  nudgeTimer = setTimeout(
    () => {
      nudgeTimer = null;
      tick();
    },
    Math.max(0, lastTick + 1000 - Date.now()),
  );
}

let stopStream = () => {};
function startStream() {
  stopStream();
  stopStream = connectStream(
    (ev) => {
      remember(state.events, ev);
      nudge();
    },
    (open) => {
      state.streaming = open;
    },
  );
}

function setLive(text, bad) {
  live.textContent = text;
  live.classList.toggle("bad", Boolean(bad));
}

async function tick() {
  // Waiting for a token: polling would only repeat the 401.
  if (ticking || document.hidden || (!auth.hidden && state.error && state.error.status === 401)) return;
  ticking = true;
  lastTick = Date.now();
  const mine = current;
  try {
    await pollQueues();
    state.error = null;
    if (mine && mine === current && mine.retry) {
      navigate();
      return;
    }
    if (mine && mine === current && mine.refresh) await mine.refresh();
    setLive(liveText());
  } catch (e) {
    state.error = e;
    setLive(e.describe ? e.describe() : String(e), true);
  } finally {
    ticking = false;
  }
}

// ---- routing ----

function context(myGen) {
  return {
    api,
    flash,
    confirm,
    state,
    alive: () => current !== null && current.gen === myGen,
    go: (hash) => {
      location.hash = hash;
    },
    // poll refreshes the shared queue data (after an action) and returns it.
    poll: () => pollQueues(),
  };
}

async function navigate() {
  const r = parseRoute();
  if (current && current.dispose) current.dispose();
  const myGen = ++gen;
  current = { gen: myGen };
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === r.name);
    if (a.dataset.page === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  view.replaceChildren();
  if (!r.page) {
    view.append(h("h1", null, "Not found"), h("p", null, "No page at ", h("code", null, r.path), ". ", h("a", { href: "#/" }, "Back to the dashboard")));
    return;
  }
  document.title = "conveyor · " + (r.page.title || r.name);
  try {
    const handle = (await r.page.mount(view, r, context(myGen))) || {};
    if (current.gen !== myGen) {
      if (handle.dispose) handle.dispose();
      return;
    }
    Object.assign(current, handle);
    setLive(liveText());
  } catch (e) {
    if (current.gen !== myGen) return;
    state.error = e;
    setLive(e.describe ? e.describe() : String(e), true);
    // Server unreachable or failing: draw the page again once it answers.
    current.retry = e instanceof ApiError && (e.status === 0 || e.status >= 500);
    view.replaceChildren(h("div", { class: "panel error-panel" }, h("p", null, e.describe ? e.describe() : String(e))));
  }
}

try {
  document.getElementById("tz").textContent = "your time zone (" + Intl.DateTimeFormat().resolvedOptions().timeZone + ")";
} catch {
  // the default text stays
}

window.addEventListener("hashchange", navigate);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) tick();
});
navigate();
startStream();
setInterval(tick, POLL_MS);
