// Jobs: filters (states, queue, kind, tag) kept in the hash, cursor
// pagination (the API gives next cursors; previous pages come from the
// cursors already seen), search by ID, auto-refresh.
import { h, STATES, stateBadge, timeEl, table, text, num, fmtRelative, refreshRelative } from "./dom.js";
import { query, enc } from "./api.js";

export const title = "Jobs";

const LIMITS = [25, 50, 100, 250];

function filtersFrom(params) {
  const states = (params.get("state") || "").split(",").map((x) => x.trim()).filter((x) => STATES.includes(x));
  return {
    state: states,
    queue: params.get("queue") || "",
    kind: params.get("kind") || "",
    tag: params.get("tag") || "",
    limit: LIMITS.includes(Number(params.get("limit"))) ? Number(params.get("limit")) : 50,
  };
}

function hashFor(f) {
  return "#/jobs" + query({ state: f.state, queue: f.queue, kind: f.kind, tag: f.tag, limit: f.limit === 50 ? "" : f.limit });
}

function lastError(j) {
  if (!j.errors || j.errors.length === 0) return "";
  const m = j.errors[j.errors.length - 1].message || "";
  return m.length > 140 ? m.slice(0, 140) + "…" : m;
}

export async function mount(view, route, ctx) {
  const f = filtersFrom(route.params);
  const cursors = [""]; // cursors[i] fetches page i
  let page = 0;
  let next = "";
  let auto = true;

  // Filter form. States apply at once; text fields on Enter or Apply.
  const stateBoxes = STATES.map((s) =>
    h("label", { class: "chip state-chip chip-" + s }, h("input", { type: "checkbox", name: "state", value: s, checked: f.state.includes(s) }), s, h("span", { class: "chip-count", dataset: { count: s } })),
  );

  // drawCounts shows each state's job count (of the queue filtered on, or
  // of all queues) next to its box, from the shared queue poll.
  function drawCounts() {
    const qs = (ctx.state.queues || []).filter((q) => !f.queue || q.name === f.queue);
    for (const l of stateBoxes) {
      const s = l.querySelector("input").value;
      const n = qs.reduce((a, q) => a + (q.counts[s] || 0), 0);
      l.querySelector(".chip-count").textContent = num(n);
    }
  }
  const queueIn = h("input", { name: "queue", value: f.queue, placeholder: "any queue", list: "queue-names", autocomplete: "off", "aria-label": "queue" });
  const kindIn = h("input", { name: "kind", value: f.kind, placeholder: "any kind", autocomplete: "off", "aria-label": "kind" });
  const tagIn = h("input", { name: "tag", value: f.tag, placeholder: "any tag", autocomplete: "off", "aria-label": "tag" });
  const limitSel = h("select", { name: "limit", "aria-label": "page size" }, LIMITS.map((n) => h("option", { value: String(n), selected: n === f.limit }, n + " per page")));
  const datalist = h("datalist", { id: "queue-names" }, (ctx.state.queues || []).map((q) => h("option", { value: q.name })));

  function apply(ev) {
    if (ev) ev.preventDefault();
    const nf = {
      state: stateBoxes.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      queue: queueIn.value.trim(),
      kind: kindIn.value.trim(),
      tag: tagIn.value.trim(),
      limit: Number(limitSel.value),
    };
    const hash = hashFor(nf);
    if (location.hash === hash) load();
    else ctx.go(hash);
  }
  for (const l of stateBoxes) l.querySelector("input").addEventListener("change", apply);
  limitSel.addEventListener("change", apply);

  const filterForm = h(
    "form",
    { class: "filters panel", id: "job-filters", onsubmit: apply },
    h("fieldset", { class: "states" }, h("legend", null, "state"), stateBoxes),
    h("div", { class: "row wrap" }, queueIn, kindIn, tagIn, limitSel, h("button", { type: "submit" }, "Apply"), h("a", { href: "#/jobs", class: "button ghost" }, "Clear")),
    datalist,
  );

  const idIn = h("input", { name: "id", placeholder: "job ID", autocomplete: "off", "aria-label": "job ID", id: "job-id-search" });
  const idForm = h(
    "form",
    {
      class: "row search",
      id: "job-search",
      onsubmit: (ev) => {
        ev.preventDefault();
        const id = idIn.value.trim();
        if (id) ctx.go("#/jobs/" + enc(id));
      },
    },
    idIn,
    h("button", { type: "submit", class: "ghost" }, "Open"),
  );

  const results = h("div", { id: "job-results" });
  const prevBtn = h("button", { type: "button", class: "ghost", id: "prev-page" }, "← Prev");
  const nextBtn = h("button", { type: "button", class: "ghost", id: "next-page" }, "Next →");
  const pageLabel = h("span", { class: "muted", id: "page-label" });
  const autoBox = h("input", { type: "checkbox", checked: true, id: "auto-refresh" });
  autoBox.addEventListener("change", () => (auto = autoBox.checked));
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
  const pager = h("div", { class: "row pager" }, prevBtn, pageLabel, nextBtn, h("label", { class: "auto" }, autoBox, " auto-refresh"));

  view.append(h("div", { class: "row spread" }, h("h1", null, "Jobs"), idForm), filterForm, results, pager);

  let lastJSON = "";
  async function load() {
    let body;
    try {
      body = await ctx.api("GET", "/api/v1/jobs" + query({ state: f.state, queue: f.queue, kind: f.kind, tag: f.tag, limit: f.limit, cursor: cursors[page] }));
    } catch (e) {
      // A refused filter (400) names the problem; show it where the list
      // would be and keep the form as typed.
      if (ctx.alive()) {
        lastJSON = "";
        results.replaceChildren(h("div", { class: "panel error-panel", role: "alert" }, e.describe ? e.describe() : String(e)));
      }
      return;
    }
    if (!ctx.alive()) return;
    const js = page + JSON.stringify(body);
    if (js === lastJSON) {
      refreshRelative(results); // nothing changed: keep the rows
      return;
    }
    lastJSON = js;
    next = body.next_cursor || "";
    prevBtn.disabled = page === 0;
    nextBtn.disabled = !next;
    pageLabel.textContent = "page " + (page + 1) + " · " + body.jobs.length + (body.jobs.length === 1 ? " job" : " jobs");
    results.replaceChildren(
      table(
        "jobs",
        ["id", "kind", "queue", "state", { v: "attempt", cls: "num" }, "enqueued", { v: "duration", cls: "num wide" }, { v: "last error", cls: "wide" }],
        body.jobs.map((j) => ({
          attrs: { dataset: { id: j.id, state: j.state } },
          cells: [
            h("a", { href: "#/jobs/" + enc(j.id), class: "mono id", title: j.id }, h("span", { class: "id-full" }, j.id), h("span", { class: "id-short" }, "…" + j.id.slice(-8))),
            h("span", { class: "kind" }, j.kind),
            j.queue,
            j.state === "scheduled" || j.state === "retrying"
              ? h("span", { class: "nowrap" }, stateBadge(j.state), h("span", { class: "muted small", title: j.run_at, dataset: { rel: j.run_at } }, " (" + fmtRelative(j.run_at) + ")"))
              : stateBadge(j.state),
            { cls: "num", v: j.attempt + "/" + j.max_attempts },
            timeEl(j.enqueued_at),
            { cls: "num wide", v: text(j.duration) },
            { cls: "wide err-text", v: lastError(j) },
          ],
        })),
        f.state.length || f.queue || f.kind || f.tag ? "no job matches these filters" : "no jobs yet",
      ),
    );
  }

  drawCounts();
  await load();
  return {
    refresh: async () => {
      drawCounts();
      datalist.replaceChildren(...(ctx.state.queues || []).map((q) => h("option", { value: q.name })));
      if (auto) await load();
    },
  };
}
