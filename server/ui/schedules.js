// Schedules: the list with next/last run, enable/disable, trigger now,
// delete, and a form to add one that shows the API's validation message.
import { h, table, timeEl, fmtRelative, text, refreshRelative } from "./dom.js";
import { enc } from "./api.js";

export const title = "Schedules";

function describe(e) {
  return e.describe ? e.describe() : String(e);
}

// definition is what PUT takes back: the entry without its state, version
// and revision.
function definition(entry) {
  const d = { ...entry };
  delete d.state;
  delete d.version;
  delete d.revision;
  return d;
}

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

export async function mount(view, route, ctx) {
  const list = h("div", { id: "schedule-list" });
  const formError = h("p", { class: "form-error", id: "schedule-form-error", role: "alert", hidden: true });
  const inputs = {
    name: h("input", { name: "name", required: true, placeholder: "nightly-report", autocomplete: "off", pattern: "[A-Za-z0-9._:\\-]+", maxlength: "128" }),
    cron: h("input", { name: "cron", required: true, placeholder: "0 3 * * *  or  @every 5m", autocomplete: "off" }),
    timezone: h("input", { name: "timezone", placeholder: "UTC", list: "tz-names", autocomplete: "off" }),
    kind: h("input", { name: "kind", required: true, placeholder: "report.build", autocomplete: "off" }),
    queue: h("input", { name: "queue", placeholder: "default", autocomplete: "off" }),
    args: h("textarea", { name: "args", rows: "3", placeholder: "{}", spellcheck: "false" }),
    priority: h("input", { name: "priority", type: "number", step: "1", placeholder: "0" }),
    max_attempts: h("input", { name: "max_attempts", type: "number", min: "1", step: "1", placeholder: "25" }),
    timeout: h("input", { name: "timeout", placeholder: "5m", autocomplete: "off" }),
    missed: h("select", { name: "missed" }, ["skip", "run_once", "catch_up"].map((v) => h("option", { value: v }, v))),
    overlap: h("select", { name: "overlap" }, ["allow", "skip"].map((v) => h("option", { value: v }, v))),
    disabled: h("input", { name: "disabled", type: "checkbox" }),
  };
  const labelled = (label, input, hint, cls = "") => h("label", { class: "field " + cls }, h("span", null, label), input, hint ? h("small", { class: "muted" }, hint) : null);
  const form = h(
    "form",
    { class: "panel schedule-form", id: "schedule-form", novalidate: true },
    h("h2", null, "Add a schedule"),
    h(
      "div",
      { class: "grid" },
      labelled("name", inputs.name),
      labelled("cron", inputs.cron, "5 fields, 6 with seconds first, or @every 5m, @hourly, @daily"),
      labelled("timezone", inputs.timezone, "IANA name; default UTC"),
      labelled("kind", inputs.kind),
      labelled("queue", inputs.queue),
      labelled("args (JSON)", inputs.args, "the job's args; default {}", "field-wide"),
    ),
    h(
      "details",
      { class: "more" },
      h("summary", null, "more options"),
      h(
        "div",
        { class: "grid" },
        labelled("priority", inputs.priority, "higher runs first"),
        labelled("max attempts", inputs.max_attempts),
        labelled("timeout", inputs.timeout, "per attempt, e.g. 90s or 5m"),
        labelled("missed fire times", inputs.missed, "while no scheduler ran: skip, one run, or each"),
        labelled("overlap", inputs.overlap, "skip: no new run while the last one is unfinished"),
        h("label", { class: "field check" }, h("span", null, "state"), h("span", { class: "row" }, inputs.disabled, "start disabled")),
      ),
    ),
    h("datalist", { id: "tz-names" }, zones().map((z) => h("option", { value: z }))),
    formError,
    h("div", { class: "row" }, h("button", { type: "submit", id: "schedule-add" }, "Add schedule")),
  );

  function showFormError(msg) {
    formError.textContent = msg;
    formError.hidden = !msg;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError("");
    const body = { name: inputs.name.value.trim(), cron: inputs.cron.value.trim(), kind: inputs.kind.value.trim() };
    if (inputs.timezone.value.trim()) body.timezone = inputs.timezone.value.trim();
    if (inputs.queue.value.trim()) body.queue = inputs.queue.value.trim();
    for (const k of ["priority", "max_attempts"]) {
      if (inputs[k].value.trim() !== "") body[k] = Number(inputs[k].value);
    }
    if (inputs.timeout.value.trim()) body.timeout = inputs.timeout.value.trim();
    if (inputs.missed.value !== "skip") body.missed = inputs.missed.value;
    if (inputs.overlap.value !== "allow") body.overlap = inputs.overlap.value;
    if (inputs.disabled.checked) body.enabled = false;
    const rawArgs = inputs.args.value.trim();
    if (rawArgs) {
      try {
        body.args = JSON.parse(rawArgs);
      } catch (e) {
        showFormError("args: not valid JSON: " + e.message);
        inputs.args.focus();
        return;
      }
    }
    try {
      const created = await ctx.api("POST", "/api/v1/schedules", body);
      ctx.flash("schedule " + created.name + " added" + (created.state && created.state.next_run ? ", next run " + fmtRelative(created.state.next_run) : ""));
      form.reset();
      await load();
    } catch (e) {
      showFormError(describe(e));
    }
  });

  async function run(label, fn, okMsg) {
    try {
      await fn();
    } catch (e) {
      if (e.status === 412) {
        // If-Match failed: someone changed or deleted the schedule since
        // this page read it. Nothing was written; show what it is now.
        ctx.flash("Could not " + label + ": it was changed elsewhere, reloaded. Check it and try again.", "error");
        lastJSON = "";
        load().catch(() => {});
        return;
      }
      ctx.flash("Could not " + label + ": " + describe(e), "error");
      return;
    }
    if (okMsg) ctx.flash(okMsg);
    // Redraw now; if this read fails, the next poll says why.
    load().catch(() => {});
  }

  const path = (name) => "/api/v1/schedules/" + enc(name);
  // ifMatch makes a write apply only to the definition this page shows
  // (its revision, which fires do not change), so an edit made elsewhere
  // since is not overwritten (412 instead).
  const ifMatch = (e) => ({ "If-Match": '"' + e.revision + '"' });

  function row(e) {
    const enabled = e.enabled !== false;
    const st = e.state || {};
    return {
      attrs: { dataset: { schedule: e.name, enabled: String(enabled) } },
      cells: [
        h("strong", null, e.name),
        h("span", null, h("code", null, e.cron), e.timezone ? h("span", { class: "muted" }, " " + e.timezone) : null),
        h("span", null, h("span", { class: "kind" }, e.kind), h("span", { class: "muted" }, " → " + text(e.queue || "default"))),
        enabled ? h("span", { class: "badge active" }, "enabled") : h("span", { class: "badge paused" }, "disabled"),
        enabled ? timeEl(st.next_run, true) : h("span", { class: "muted" }, "—"),
        h("span", null, timeEl(st.last_run), st.last_job_id ? h("span", null, " ", h("a", { href: "#/jobs/" + enc(st.last_job_id), class: "small" }, "job")) : null),
        h(
          "div",
          { class: "row nowrap" },
          h(
            "button",
            {
              type: "button",
              class: "ghost small",
              dataset: { action: "trigger" },
              onclick: () =>
                run("trigger " + e.name, async () => {
                  const r = await ctx.api("POST", path(e.name) + "/trigger");
                  ctx.flash(["schedule " + e.name + " triggered: ", h("a", { href: "#/jobs/" + enc(r.id), class: "mono" }, r.id), r.duplicate ? " (already there)" : ""]);
                }),
            },
            "Trigger now",
          ),
          h(
            "button",
            {
              type: "button",
              class: "ghost small",
              dataset: { action: enabled ? "disable" : "enable" },
              onclick: () => run((enabled ? "disable " : "enable ") + e.name, () => ctx.api("PUT", path(e.name), { ...definition(e), enabled: !enabled }, ifMatch(e)), "schedule " + e.name + (enabled ? " disabled" : " enabled")),
            },
            enabled ? "Disable" : "Enable",
          ),
          h(
            "button",
            {
              type: "button",
              class: "ghost small danger-text",
              dataset: { action: "delete" },
              onclick: async () => {
                if (await ctx.confirm("Delete schedule " + e.name + "? Jobs it already enqueued stay.", "Delete schedule")) {
                  run("delete " + e.name, () => ctx.api("DELETE", path(e.name), undefined, ifMatch(e)), "schedule " + e.name + " deleted");
                }
              },
            },
            "Delete",
          ),
        ),
      ],
    };
  }

  let lastJSON = "";
  async function load() {
    const body = await ctx.api("GET", "/api/v1/schedules");
    if (!ctx.alive()) return;
    // Same data: keep the rows (a click in progress is not lost), only
    // the relative times move on.
    const js = JSON.stringify(body.schedules);
    if (js === lastJSON) {
      refreshRelative(list);
      return;
    }
    lastJSON = js;
    list.replaceChildren(table("schedules", ["name", "cron", "job", "status", "next run", "last run", ""], body.schedules.map(row), "no schedules yet: add one below"));
  }

  view.append(h("h1", null, "Schedules"), h("section", { class: "panel" }, list), form);
  await load();
  return { refresh: load };
}
