// Webhooks: subscriptions (list, add, enable/disable, rotate the secret,
// delete) and, at #/webhooks/ID, one subscription with its delivery jobs. A
// secret is shown whole once, right after the subscription is created or
// its secret rotated; the API never shows it again (nor header values).
import { h, table, stateBadge, timeEl, text, fmtRelative, refreshRelative } from "./dom.js";
import { enc, query } from "./api.js";

export const title = "Webhooks";

const DELIVERY_PAGE = 25;

function describe(e) {
  return e.describe ? e.describe() : String(e);
}

// definition is what PUT takes back: the view as it came (masked secret and
// header values keep the stored ones). The previous secret of a rotation is
// left out: the server keeps it as stored, whatever this view last saw.
function definition(sub) {
  const d = { ...sub };
  delete d.disabled_reason;
  delete d.previous_secret;
  delete d.previous_secret_expires_at;
  return d;
}

// ROTATION_GRACE_TEXT says what rotate-secret's default grace period means.
const ROTATION_GRACE_TEXT = "The old secret keeps signing deliveries, beside the new one, for a day.";

function filters(sub) {
  const parts = [];
  if (sub.queue) parts.push("queue " + sub.queue);
  if (sub.kind) parts.push("kind " + sub.kind);
  if (sub.subject) parts.push("subject " + sub.subject);
  return parts.join(", ");
}

function status(sub) {
  if (sub.enabled !== false) return h("span", { class: "badge active" }, "enabled");
  return h("span", null, h("span", { class: "badge paused" }, "disabled"), sub.disabled_reason ? h("div", { class: "muted small" }, sub.disabled_reason) : null);
}

export async function mount(view, route, ctx) {
  if (route.args.length) return mountOne(view, route.args[0], ctx);

  const list = h("div", { id: "webhook-list" });
  const secretBox = h("div", { id: "webhook-secret", class: "panel secret-panel", role: "status", hidden: true });
  const formError = h("p", { class: "form-error", id: "webhook-form-error", role: "alert", hidden: true });
  const inputs = {
    url: h("input", { name: "url", required: true, placeholder: "https://hooks.example.com/conveyor", autocomplete: "off", type: "url" }),
    events: h("input", { name: "events", required: true, value: "conveyor.job.failed", autocomplete: "off" }),
    queue: h("input", { name: "queue", placeholder: "any queue", autocomplete: "off" }),
    kind: h("input", { name: "kind", placeholder: "any kind", autocomplete: "off" }),
    subject: h("input", { name: "subject", placeholder: "any subject", autocomplete: "off" }),
    method: h("select", { name: "method" }, ["POST", "PUT", "PATCH"].map((m) => h("option", { value: m }, m))),
    headers: h("textarea", { name: "headers", rows: "2", placeholder: '{"Authorization": "Bearer …"}', spellcheck: "false" }),
  };
  const labelled = (label, input, hint, cls = "") => h("label", { class: "field " + cls }, h("span", null, label), input, hint ? h("small", { class: "muted" }, hint) : null);
  const form = h(
    "form",
    { class: "panel schedule-form", id: "webhook-form", novalidate: true },
    h("h2", null, "Add a webhook"),
    h(
      "div",
      { class: "grid" },
      labelled("url", inputs.url, "receives a signed request (Standard Webhooks) per event", "field-wide"),
      labelled("events", inputs.events, "type patterns, comma-separated: conveyor.job.failed, conveyor.job.*, doc.**"),
      labelled("queue", inputs.queue, "only job events of this queue"),
      labelled("kind", inputs.kind, "only job events of this kind"),
      labelled("subject", inputs.subject),
      labelled("method", inputs.method),
      labelled("headers (JSON)", inputs.headers, "sent with every delivery; never shown again", "field-wide"),
    ),
    formError,
    h("div", { class: "row" }, h("button", { type: "submit", id: "webhook-add" }, "Add webhook")),
  );

  function showFormError(msg) {
    formError.textContent = msg;
    formError.hidden = !msg;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError("");
    const body = {
      url: inputs.url.value.trim(),
      events: inputs.events.value.split(",").map((x) => x.trim()).filter(Boolean),
    };
    for (const k of ["queue", "kind", "subject"]) if (inputs[k].value.trim()) body[k] = inputs[k].value.trim();
    if (inputs.method.value !== "POST") body.method = inputs.method.value;
    if (inputs.headers.value.trim()) {
      try {
        body.headers = JSON.parse(inputs.headers.value);
      } catch (e) {
        showFormError("headers: not valid JSON: " + e.message);
        return;
      }
    }
    let created;
    try {
      created = await ctx.api("POST", "/api/v1/webhooks", body);
    } catch (e) {
      showFormError(describe(e));
      return;
    }
    form.reset();
    showSecret("Webhook added. ", "Its signing secret is shown this once: keep it where the receiver verifies signatures.", created.secret);
    load().catch(() => {});
  });

  // showSecret shows a whole secret: the only time it is shown, after the
  // webhook's creation or a rotation.
  function showSecret(headline, explain, secret) {
    secretBox.replaceChildren(
      h("p", null, h("strong", null, headline), explain),
      h("pre", { class: "secret", id: "webhook-secret-value" }, text(secret)),
      h("button", { type: "button", class: "ghost small", onclick: () => (secretBox.hidden = true) }, "Done, hide it"),
    );
    secretBox.hidden = false;
    secretBox.scrollIntoView({ block: "nearest" });
  }

  async function rotate(sub) {
    if (!(await ctx.confirm("Rotate the signing secret of the webhook to " + sub.url + "? " + ROTATION_GRACE_TEXT, "Rotate secret"))) return;
    let rotated;
    try {
      rotated = await ctx.api("POST", path(sub.id) + "/rotate-secret");
    } catch (e) {
      ctx.flash("Could not rotate the secret: " + describe(e), "error");
      return;
    }
    showSecret("Secret rotated. ", "The new signing secret is shown this once: give it to the receiver. " + ROTATION_GRACE_TEXT, rotated.secret);
    ctx.flash("secret rotated");
    load().catch(() => {});
  }

  async function run(label, fn, okMsg) {
    try {
      await fn();
    } catch (e) {
      if (e.status === 412) {
        // If-Match failed: someone changed or deleted the webhook since
        // this page read it. Nothing was written; show what it is now.
        ctx.flash("Could not " + label + ": it was changed elsewhere, reloaded. Check it and try again.", "error");
        lastJSON = "";
        load().catch(() => {});
        return;
      }
      ctx.flash("Could not " + label + ": " + describe(e), "error");
      return;
    }
    ctx.flash(okMsg);
    load().catch(() => {});
  }

  const path = (id) => "/api/v1/webhooks/" + enc(id);
  // ifMatch makes a write apply only to the version this page shows, so
  // an edit made elsewhere since is not overwritten (412 instead).
  const ifMatch = (sub) => ({ "If-Match": '"' + sub.version + '"' });

  function row(sub) {
    const enabled = sub.enabled !== false;
    return {
      attrs: { dataset: { webhook: sub.id, enabled: String(enabled) } },
      cells: [
        h("a", { href: "#/webhooks/" + enc(sub.id), class: "mono" }, sub.id.slice(-12)),
        h("span", null, (sub.events || []).map((e) => h("code", { class: "pattern" }, e))),
        h("span", { class: "muted" }, filters(sub) || "—"),
        h("span", { class: "url" }, (sub.method && sub.method !== "POST" ? sub.method + " " : "") + sub.url),
        status(sub),
        h(
          "div",
          { class: "row nowrap" },
          h("a", { class: "button ghost small", href: "#/webhooks/" + enc(sub.id) }, "Deliveries"),
          h(
            "button",
            {
              type: "button",
              class: "ghost small",
              dataset: { action: enabled ? "disable" : "enable" },
              onclick: () => run((enabled ? "disable" : "enable") + " the webhook", () => ctx.api("PUT", path(sub.id), { ...definition(sub), enabled: !enabled }, ifMatch(sub)), "webhook " + (enabled ? "disabled" : "enabled")),
            },
            enabled ? "Disable" : "Enable",
          ),
          h("button", { type: "button", class: "ghost small", dataset: { action: "rotate" }, onclick: () => rotate(sub) }, "Rotate secret"),
          h(
            "button",
            {
              type: "button",
              class: "ghost small danger-text",
              dataset: { action: "delete" },
              onclick: async () => {
                if (await ctx.confirm("Delete the webhook to " + sub.url + "? Deliveries already queued stay.", "Delete webhook")) {
                  run("delete the webhook", () => ctx.api("DELETE", path(sub.id), undefined, ifMatch(sub)), "webhook deleted");
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
    const body = await ctx.api("GET", "/api/v1/webhooks");
    if (!ctx.alive()) return;
    const js = JSON.stringify(body.webhooks);
    if (js === lastJSON) return; // keep the rows (and a click in progress)
    lastJSON = js;
    list.replaceChildren(table("webhooks", ["id", "events", "filters", "url", "status", ""], body.webhooks.map(row), "no webhooks yet: add one below"));
  }

  view.append(
    h("h1", null, "Webhooks"),
    h("p", { class: "muted" }, "Each matching event becomes a delivery job (kind conveyor.webhook.deliver), retried with backoff; a 410 answer disables the webhook."),
    secretBox,
    h("section", { class: "panel" }, list),
    form,
  );
  await load();
  return { refresh: load };
}

// mountOne shows one subscription and its deliveries, newest first.
async function mountOne(view, id, ctx) {
  const head = h("div", { id: "webhook-head" });
  const results = h("div", { id: "delivery-results" });
  const cursors = [""];
  let page = 0;
  let next = "";
  const prevBtn = h("button", { type: "button", class: "ghost", id: "prev-page" }, "← Prev");
  const nextBtn = h("button", { type: "button", class: "ghost", id: "next-page" }, "Next →");
  prevBtn.addEventListener("click", () => {
    if (page > 0) {
      page--;
      load();
    }
  });
  nextBtn.addEventListener("click", () => {
    if (next) {
      cursors[page + 1] = next;
      page++;
      load();
    }
  });
  view.append(h("p", null, h("a", { href: "#/webhooks" }, "← Webhooks")), head, h("section", { class: "panel" }, h("h2", null, "Deliveries"), results, h("div", { class: "row pager" }, prevBtn, nextBtn)));

  let lastJSON = "";
  async function load() {
    let sub, body;
    try {
      [sub, body] = await Promise.all([ctx.api("GET", "/api/v1/webhooks/" + enc(id)), ctx.api("GET", "/api/v1/webhooks/" + enc(id) + "/deliveries" + query({ limit: DELIVERY_PAGE, cursor: cursors[page] }))]);
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.status === 404) {
        head.replaceChildren(h("h1", null, "Webhook not found"));
        results.replaceChildren();
        return;
      }
      throw e;
    }
    if (!ctx.alive()) return;
    const js = page + JSON.stringify([sub, body]);
    if (js === lastJSON) {
      refreshRelative(results);
      return;
    }
    lastJSON = js;
    next = body.next_cursor || "";
    prevBtn.disabled = page === 0;
    nextBtn.disabled = !next;
    head.replaceChildren(
      h("h1", null, "Webhook ", h("span", { class: "mono small" }, sub.id), status(sub)),
      h(
        "section",
        { class: "panel" },
        h(
          "dl",
          { class: "fields", id: "webhook-fields" },
          h("dt", null, "url"),
          h("dd", null, (sub.method || "POST") + " " + sub.url),
          h("dt", null, "events"),
          h("dd", null, (sub.events || []).join(", ")),
          h("dt", null, "filters"),
          h("dd", null, filters(sub) || "—"),
          h("dt", null, "secret"),
          h("dd", { class: "mono" }, text(sub.secret)),
          sub.previous_secret ? h("dt", null, "previous secret") : null,
          sub.previous_secret ? h("dd", { id: "webhook-previous-secret" }, h("span", { class: "mono" }, sub.previous_secret), " signs too until ", timeEl(sub.previous_secret_expires_at)) : null,
          h("dt", null, "headers"),
          h("dd", null, sub.headers ? Object.keys(sub.headers).join(", ") : "—"),
        ),
      ),
    );
    results.replaceChildren(
      table(
        "jobs",
        ["delivery job", "state", { v: "attempt", cls: "num" }, "enqueued", { v: "duration", cls: "num wide" }, { v: "last error", cls: "wide" }],
        body.jobs.map((j) => ({
          attrs: { dataset: { id: j.id, state: j.state } },
          cells: [
            h("a", { href: "#/jobs/" + enc(j.id), class: "mono id" }, j.id),
            j.state === "retrying" || j.state === "scheduled"
              ? h("span", { class: "nowrap" }, stateBadge(j.state), h("span", { class: "muted small", title: j.run_at, dataset: { rel: j.run_at } }, " (" + fmtRelative(j.run_at) + ")"))
              : stateBadge(j.state),
            { cls: "num", v: j.attempt + "/" + j.max_attempts },
            timeEl(j.enqueued_at),
            { cls: "num wide", v: text(j.duration) },
            { cls: "wide err-text", v: j.errors && j.errors.length ? j.errors[j.errors.length - 1].message : "" },
          ],
        })),
        "no deliveries yet",
      ),
    );
  }

  await load();
  return { refresh: load };
}
