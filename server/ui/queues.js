// Queues: counts per state and pause / resume.
import { h, STATES, num, fmtAge, table } from "./dom.js";
import { enc } from "./api.js";

export const title = "Queues";

export async function mount(view, route, ctx) {
  const list = h("div", { id: "queue-list" });
  view.append(
    h("h1", null, "Queues"),
    h("p", { class: "muted" }, "A paused queue keeps its jobs and accepts new ones; workers stop claiming from it until it is resumed."),
    list,
  );

  async function toggle(q) {
    const verb = q.paused ? "resume" : "pause";
    try {
      await ctx.api("POST", "/api/v1/queues/" + enc(q.name) + "/" + verb);
    } catch (e) {
      ctx.flash("Could not " + verb + " queue " + q.name + ": " + (e.describe ? e.describe() : String(e)), "error");
      return;
    }
    ctx.flash("queue " + q.name + (q.paused ? " resumed" : " paused"));
    // Redraw now; if this read fails, the next poll says why.
    ctx.poll().then(() => ctx.alive() && draw(), () => {});
  }

  let lastJSON = "";
  function draw() {
    const qs = ctx.state.queues || [];
    // The ages move on every poll; the rest rarely does. Keep the rows (and
    // a click in progress) when only the ages changed.
    const js = JSON.stringify(qs.map((q) => ({ ...q, oldest_queued_age_seconds: q.oldest_queued_age_seconds != null })));
    if (js === lastJSON) {
      for (const q of qs) {
        const cell = list.querySelector(`tr[data-queue="${CSS.escape(q.name)}"] .age`);
        if (cell) cell.textContent = q.oldest_queued_age_seconds != null ? fmtAge(q.oldest_queued_age_seconds) : "";
      }
      return;
    }
    lastJSON = js;
    list.replaceChildren(
      table(
        "queues",
        ["queue", "status", ...STATES.map((s) => ({ v: s, cls: "num" })), { v: "oldest queued", cls: "num" }, ""],
        qs.map((q) => ({
          attrs: { dataset: { queue: q.name, paused: String(q.paused) } },
          cells: [
            h("a", { href: "#/jobs?queue=" + enc(q.name) }, q.name),
            q.paused ? h("span", { class: "badge paused" }, "paused") : h("span", { class: "badge active" }, "active"),
            ...STATES.map((s) => ({ cls: "num", v: q.counts[s] ? num(q.counts[s]) : h("span", { class: "zero" }, "0") })),
            { cls: "num age", v: q.oldest_queued_age_seconds != null ? fmtAge(q.oldest_queued_age_seconds) : "" },
            h("button", { type: "button", class: q.paused ? "" : "ghost", dataset: { action: q.paused ? "resume" : "pause" }, onclick: () => toggle(q) }, q.paused ? "Resume" : "Pause"),
          ],
        })),
        "no queues yet: a queue appears with its first job",
      ),
    );
  }

  if (!ctx.state.queues) await ctx.poll();
  draw();
  return { refresh: async () => draw() };
}
