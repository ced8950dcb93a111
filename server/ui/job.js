// Job detail: every field, args/result/meta/progress pretty-printed, the
// errors of each attempt with their stack excerpt, a timeline, and the
// cancel / retry / delete actions (confirmed first; API errors shown).
import { h, stateBadge, timeEl, pretty, text, refreshRelative } from "./dom.js";
import { enc } from "./api.js";

export const title = "Job";

const FINAL = ["completed", "failed", "cancelled"];

// progressBar reads the common shapes of progress: a number (0–1 or
// 0–100), {percent}, {done,total} or {step,total}.
function progressBar(p) {
  let frac = null;
  if (typeof p === "number") frac = p <= 1 ? p : p / 100;
  else if (p && typeof p === "object") {
    if (typeof p.percent === "number") frac = p.percent / 100;
    else if (typeof p.total === "number" && p.total > 0) {
      const done = typeof p.done === "number" ? p.done : p.step;
      if (typeof done === "number") frac = done / p.total;
    }
  }
  if (frac === null || !isFinite(frac)) return null;
  frac = Math.min(1, Math.max(0, frac));
  return h("div", { class: "row" }, h("progress", { max: "100", value: String(Math.round(frac * 100)) }), h("span", { class: "num" }, Math.round(frac * 100) + " %"));
}

function timeline(j) {
  const ev = [];
  ev.push({ at: j.enqueued_at, what: "enqueued", cls: "queued" });
  const runAt = new Date(j.run_at).getTime();
  if (j.run_at && runAt - new Date(j.enqueued_at).getTime() > 1000) {
    ev.push({ at: j.run_at, what: j.state === "scheduled" || j.state === "retrying" ? "runs at (scheduled)" : "scheduled to run", cls: "scheduled" });
  }
  for (const e of j.errors || []) ev.push({ at: e.at, what: "attempt " + e.attempt + " failed", detail: e.message, cls: "failed" });
  if (j.started_at) ev.push({ at: j.started_at, what: "attempt " + j.attempt + " started", cls: "running" });
  if (j.finished_at) ev.push({ at: j.finished_at, what: j.state, cls: j.state });
  ev.sort((a, b) => new Date(a.at) - new Date(b.at));
  const now = Date.now();
  return h(
    "ol",
    { class: "timeline", id: "timeline" },
    ev.map((e) =>
      h(
        "li",
        { class: "tl-" + e.cls + (new Date(e.at).getTime() > now ? " future" : "") },
        h("span", { class: "tl-dot" }),
        h("span", { class: "tl-what" }, e.what),
        " ",
        timeEl(e.at, true),
        e.detail ? h("div", { class: "tl-detail err-text" }, e.detail.length > 200 ? e.detail.slice(0, 200) + "…" : e.detail) : null,
      ),
    ),
    h("li", { class: "tl-now" }, h("span", { class: "tl-dot" }), h("span", { class: "muted" }, "attempts: " + j.attempt + " of " + j.max_attempts + (FINAL.includes(j.state) ? "" : " · now " + j.state))),
  );
}

function field(label, value) {
  return [h("dt", null, label), h("dd", null, value === undefined || value === null || value === "" ? h("span", { class: "muted" }, "—") : value)];
}

function render(j) {
  const errors = (j.errors || []).slice().reverse();
  const fields = h(
    "section",
    { class: "panel" },
    h("h2", null, "Fields"),
    h(
      "dl",
      { class: "fields", id: "job-fields" },
      field("id", h("span", { class: "mono" }, j.id)),
      field("kind", h("span", { class: "kind" }, j.kind)),
      field("queue", h("a", { href: "#/jobs?queue=" + enc(j.queue) }, j.queue)),
      field("state", [stateBadge(j.state), j.cancel_requested ? h("span", { class: "badge cancelled" }, "cancel requested") : null]),
      field("attempt", j.attempt + " of " + j.max_attempts),
      field("priority", text(j.priority)),
      field("timeout", text(j.timeout)),
      field("run at", timeEl(j.run_at, true)),
      field("enqueued", timeEl(j.enqueued_at)),
      field("started", j.started_at ? timeEl(j.started_at) : null),
      field("finished", j.finished_at ? timeEl(j.finished_at) : null),
      field("duration", text(j.duration)),
      field("tags", j.tags && j.tags.length ? j.tags.map((t) => h("a", { class: "chip", href: "#/jobs?tag=" + enc(t) }, t)) : null),
      field("unique key", j.unique_key ? h("span", { class: "mono" }, j.unique_key) : null),
      field("unique states", j.unique_states && j.unique_states.length ? j.unique_states.join(", ") : null),
      field("lease owner", text(j.lease_owner)),
      field("lease expires", j.lease_expires_at ? timeEl(j.lease_expires_at, true) : null),
    ),
  );
  return h(
    "div",
    { class: "detail-grid" },
    fields,
    h(
      "div",
      null,
      h("section", { class: "panel" }, h("h2", null, "Timeline"), timeline(j)),
      j.progress !== undefined ? h("section", { class: "panel", id: "job-progress" }, h("h2", null, "Progress"), progressBar(j.progress), pretty(j.progress)) : null,
    ),
    h("section", { class: "panel" }, h("h2", null, "Args"), h("div", { id: "job-args" }, pretty(j.args))),
    j.result !== undefined ? h("section", { class: "panel" }, h("h2", null, "Result"), h("div", { id: "job-result" }, pretty(j.result))) : null,
    j.meta !== undefined ? h("section", { class: "panel" }, h("h2", null, "Meta"), h("div", { id: "job-meta" }, pretty(j.meta))) : null,
    h(
      "section",
      { class: "panel full" },
      h("h2", null, "Errors ", h("span", { class: "muted" }, "(" + errors.length + ")")),
      errors.length === 0
        ? h("p", { class: "muted" }, "no failed attempt")
        : h(
            "ol",
            { class: "errors", id: "job-errors" },
            errors.map((e) =>
              h(
                "li",
                { class: "error-item" },
                h("div", { class: "row spread" }, h("strong", null, "attempt " + e.attempt), timeEl(e.at)),
                h("pre", { class: "err-msg" }, text(e.message)),
                e.stack ? h("details", { dataset: { attempt: String(e.attempt) } }, h("summary", null, "stack excerpt"), h("pre", { class: "stack" }, e.stack)) : null,
              ),
            ),
          ),
    ),
  );
}

export async function mount(view, route, ctx) {
  const id = route.args[0];
  const path = "/api/v1/jobs/" + enc(id);
  const head = h("div", { class: "row spread" });
  const body = h("div", { id: "job-detail" });
  view.append(h("p", null, h("a", { href: "#/jobs" }, "← Jobs")), head, body);
  let lastJSON = "";
  let gone = false;

  async function act(name, method, suffix, question, ok) {
    if (!(await ctx.confirm(question, ok))) return;
    let j;
    try {
      j = await ctx.api(method, path + suffix); // cancel and retry answer the job
    } catch (e) {
      ctx.flash("Could not " + name + " the job: " + (e.describe ? e.describe() : String(e)), "error");
      return;
    }
    if (name === "delete") {
      ctx.flash("job " + id + " deleted");
      gone = true;
      ctx.go("#/jobs");
      return;
    }
    ctx.flash(name === "cancel" && j.state === "running" ? "cancel requested: the job ends cancelled when its handler returns" : "job " + (name === "cancel" ? "cancelled" : "queued again") + ": now " + j.state);
    // Redraw now; if this read fails, the next poll says why.
    load().catch(() => {});
  }

  const actions = h(
    "div",
    { class: "row actions" },
    h("button", { type: "button", id: "action-cancel", class: "ghost", onclick: () => act("cancel", "POST", "/cancel", "Cancel job " + id + "? A running job is asked to stop.", "Cancel job") }, "Cancel"),
    h("button", { type: "button", id: "action-retry", class: "ghost", onclick: () => act("retry", "POST", "/retry", "Run job " + id + " again now?", "Retry job") }, "Retry"),
    h("button", { type: "button", id: "action-delete", class: "ghost danger-text", onclick: () => act("delete", "DELETE", "", "Delete job " + id + " for good? This cannot be undone.", "Delete job") }, "Delete"),
  );

  async function load() {
    let j;
    try {
      j = await ctx.api("GET", path);
    } catch (e) {
      if (e.status === 404 && ctx.alive()) {
        gone = true;
        head.replaceChildren(h("h1", null, "Job not found"));
        body.replaceChildren(h("div", { class: "panel" }, h("p", null, "No job with ID ", h("code", null, id), " (it may have been deleted or pruned).")));
        return null;
      }
      throw e;
    }
    if (!ctx.alive()) return j;
    const js = JSON.stringify(j);
    if (js === lastJSON) {
      // Keep open <details> and selections as they are.
      refreshRelative(body);
      return j;
    }
    lastJSON = js;
    document.title = "conveyor · " + j.kind + " " + j.state;
    head.replaceChildren(h("h1", null, h("span", { class: "kind" }, j.kind), " ", stateBadge(j.state)), actions);
    // Keep the stacks the user opened open across refreshes.
    const open = new Set([...body.querySelectorAll("details[open]")].map((d) => d.dataset.attempt));
    body.replaceChildren(render(j));
    for (const d of body.querySelectorAll("details")) if (open.has(d.dataset.attempt)) d.open = true;
    return j;
  }

  await load();
  return {
    refresh: async () => {
      if (!gone) await load();
    },
  };
}

