// Dashboard: totals per state, throughput, oldest queued job, queues.
import { h, s as svg, STATES, num, fmtAge, stateBadge, table, timeEl } from "./dom.js";
import { enc } from "./api.js";
import { throughputChart, latencyChart, latencyOf } from "./chart.js";

const LATENCY_EVERY = 3; // polls between two latency samples (a list of 100 jobs)
const MAX_LATENCY = 60;

export const title = "Dashboard";

function jobsLink(params, label, cls) {
  return h("a", { href: "#/jobs?" + new URLSearchParams(params).toString(), class: cls }, label);
}

const WAITING = ["scheduled", "queued", "retrying", "running"];

// depthBar draws a queue's unfinished jobs as a stacked bar, scaled to the
// deepest queue.
function depthBar(q, deepest) {
  const total = WAITING.reduce((a, st) => a + (q.counts[st] || 0), 0);
  let x = 0;
  const parts = [];
  for (const st of WAITING) {
    const n = q.counts[st] || 0;
    if (!n) continue;
    const w = (n / deepest) * 100;
    parts.push(svg("rect", { x: x.toFixed(2), y: "0", width: w.toFixed(2), height: "10", class: "fill-" + st }, svg("title", null, n + " " + st)));
    x += w;
  }
  return h(
    "span",
    { class: "depth", title: total + " unfinished" },
    svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "depth-bar", "aria-hidden": "true" }, svg("rect", { x: "0", y: "0", width: "100", height: "10", class: "depth-bg" }), parts),
    h("span", { class: "num" }, num(total)),
  );
}

export async function mount(view, route, ctx) {
  const cards = h("div", { class: "cards", id: "totals" });
  const chart = h("div", { id: "throughput" });
  const queues = h("div", { id: "dash-queues" });
  const latency = h("div", { id: "latency" });
  const feed = h("div", { id: "events" });
  view.append(
    h("h1", null, "Dashboard"),
    cards,
    h("div", { class: "chart-grid" }, h("section", { class: "panel" }, h("h2", null, "Throughput"), chart), h("section", { class: "panel" }, h("h2", null, "Latency"), latency)),
    h("section", { class: "panel" }, h("h2", null, "Queues"), queues),
    h("section", { class: "panel" }, h("h2", null, "Recent job events"), feed),
  );

  // The event feed: what workers of this server just did, from the stream.
  let feedKey = "";
  function drawFeed() {
    const evs = ctx.state.events;
    const key = ctx.state.streaming + ":" + (evs[0] ? evs[0].id : "");
    if (key === feedKey) return;
    feedKey = key;
    if (evs.length === 0) {
      feed.replaceChildren(h("p", { class: "muted" }, ctx.state.streaming ? "connected to the event stream: job events appear here as workers of this server run them" : "no event stream (this server has no event bus, or it cannot be reached): the page polls every 2 s"));
      return;
    }
    feed.replaceChildren(
      h(
        "ol",
        { class: "feed" },
        evs.map((ev) => {
          const what = ev.type.replace(/^conveyor\.job\./, "");
          const d = ev.data && typeof ev.data === "object" ? ev.data : {};
          return h(
            "li",
            { dataset: { type: ev.type } },
            timeEl(ev.time),
            " ",
            h("span", { class: "badge state-" + (what === "started" ? "running" : what === "retrying" ? "retrying" : what) }, what),
            " ",
            h("span", { class: "kind" }, d.kind || ""),
            d.queue ? h("span", { class: "muted" }, " in " + d.queue) : null,
            " ",
            ev.subject ? h("a", { class: "mono small", href: "#/jobs/" + enc(ev.subject) }, ev.subject) : null,
          );
        }),
      ),
    );
  }

  function draw() {
    const qs = ctx.state.queues || [];
    const tot = Object.fromEntries(STATES.map((s) => [s, 0]));
    let oldest = null;
    for (const q of qs) {
      for (const s of STATES) tot[s] += q.counts[s] || 0;
      const age = q.oldest_queued_age_seconds;
      if (age !== undefined && age !== null && (oldest === null || age > oldest.age)) oldest = { age, queue: q.name, paused: q.paused };
    }
    const all = STATES.reduce((a, s) => a + tot[s], 0);
    cards.replaceChildren(
      h("a", { class: "card", href: "#/jobs" }, h("div", { class: "card-label" }, "all jobs"), h("div", { class: "card-value", dataset: { total: "all" } }, num(all)), h("div", { class: "muted" }, qs.length + (qs.length === 1 ? " queue" : " queues"))),
      ...STATES.map((s) =>
        h(
          "a",
          { class: "card card-" + s, href: "#/jobs?state=" + s, dataset: { state: s } },
          h("div", { class: "card-label" }, stateBadge(s)),
          h("div", { class: "card-value" + (tot[s] > 0 ? " nonzero" : ""), dataset: { total: s } }, num(tot[s])),
        ),
      ),
      h(
        "div",
        { class: "card" },
        h("div", { class: "card-label" }, "oldest queued"),
        h("div", { class: "card-value", id: "oldest-age" }, oldest ? fmtAge(oldest.age) : "—"),
        h("div", { class: "muted" }, oldest ? "in " + oldest.queue + (oldest.paused ? " (paused)" : "") : "nothing waiting"),
      ),
    );
    chart.replaceChildren(throughputChart(ctx.state.samples));
    const deepest = Math.max(1, ...qs.map((q) => WAITING.reduce((a, st) => a + (q.counts[st] || 0), 0)));
    queues.replaceChildren(
      table(
        "queues",
        ["queue", "", { v: "depth", cls: "wide" }, ...STATES.map((s) => ({ v: s, cls: "num" })), { v: "oldest queued", cls: "num" }],
        qs.map((q) => ({
          attrs: { dataset: { queue: q.name } },
          cells: [
            jobsLink({ queue: q.name }, q.name),
            q.paused ? h("span", { class: "badge paused" }, "paused") : "",
            { cls: "wide", v: depthBar(q, deepest) },
            ...STATES.map((s) => ({ cls: "num", v: q.counts[s] ? jobsLink({ queue: q.name, state: s }, num(q.counts[s]), "count-" + s) : h("span", { class: "zero" }, "0") })),
            { cls: "num", v: q.oldest_queued_age_seconds != null ? fmtAge(q.oldest_queued_age_seconds) : "" },
          ],
        })),
        "no queues yet: enqueue a job",
      ),
    );
  }

  // Latency comes from the latest finished jobs, sampled every few polls
  // into a history shared with later visits of the page.
  const hist = (ctx.state.latency ||= []);
  let polls = 0;
  async function sampleLatency() {
    try {
      const body = await ctx.api("GET", "/api/v1/jobs?state=completed,failed&limit=100");
      hist.push({ t: Date.now(), ...latencyOf(body.jobs) });
      if (hist.length > MAX_LATENCY) hist.shift();
    } catch (e) {
      if (!ctx.alive()) return;
      latency.replaceChildren(h("p", { class: "muted" }, e.describe ? e.describe() : String(e)));
      return;
    }
    if (ctx.alive()) latency.replaceChildren(latencyChart(hist));
  }

  if (!ctx.state.queues) await ctx.poll();
  draw();
  drawFeed();
  await sampleLatency();
  return {
    refresh: async () => {
      draw();
      drawFeed();
      if (++polls % LATENCY_EVERY === 0) await sampleLatency();
    },
  };
}
