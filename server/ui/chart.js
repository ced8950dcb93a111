// Throughput chart: completed and failed jobs per second, computed from the
// change of the state totals between two polls, drawn as inline SVG.
import { h, s } from "./dom.js";

const W = 600;
const H = 160;

// rates turns totals samples into per-second rates between consecutive
// polls. A total that went down (jobs deleted or retried) counts as zero.
export function rates(samples) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    out.push({
      t: b.t,
      completed: Math.max(0, b.completed - a.completed) / dt,
      failed: Math.max(0, b.failed - a.failed) / dt,
    });
  }
  return out;
}

function niceMax(v) {
  if (v <= 1) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmtRate(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

// throughputChart returns a figure with the SVG and its legend.
export function throughputChart(samples) {
  const rs = rates(samples);
  const fig = h("figure", { class: "chart" });
  if (rs.length < 2) {
    fig.append(h("div", { class: "chart-empty muted" }, "collecting: the chart fills in as the page polls every 2 s"));
    return fig;
  }
  const t0 = rs[0].t;
  const t1 = rs[rs.length - 1].t;
  const span = Math.max(1, t1 - t0);
  const top = niceMax(Math.max(...rs.map((r) => Math.max(r.completed, r.failed))));
  const x = (t) => ((t - t0) / span) * W;
  const y = (v) => H - (v / top) * (H - 6);
  const line = (key) => rs.map((r) => x(r.t).toFixed(1) + "," + y(r[key]).toFixed(1)).join(" ");
  const area = (key) => "0," + H + " " + line(key) + " " + W + "," + H;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": "completed and failed jobs per second" },
    [0.25, 0.5, 0.75].map((f) => s("line", { x1: 0, x2: W, y1: y(top * f), y2: y(top * f), class: "grid", "vector-effect": "non-scaling-stroke" })),
    s("polygon", { points: area("completed"), class: "area-completed" }),
    s("polyline", { points: line("completed"), class: "line-completed", "vector-effect": "non-scaling-stroke" }),
    s("polygon", { points: area("failed"), class: "area-failed" }),
    s("polyline", { points: line("failed"), class: "line-failed", "vector-effect": "non-scaling-stroke" }),
  );
  const last = rs[rs.length - 1];
  const secs = Math.round(span / 1000);
  fig.append(
    h("div", { class: "chart-frame" }, h("span", { class: "chart-top muted" }, fmtRate(top) + "/s"), svg),
    h(
      "figcaption",
      { class: "legend" },
      h("span", { class: "key key-completed" }, "completed ", h("strong", { class: "rate-completed" }, fmtRate(last.completed)), "/s"),
      h("span", { class: "key key-failed" }, "failed ", h("strong", { class: "rate-failed" }, fmtRate(last.failed)), "/s"),
      h("span", { class: "muted" }, "last " + (secs >= 120 ? Math.round(secs / 60) + " min" : secs + " s") + ", from count changes between polls"),
    ),
  );
  return fig;
}
