// Charts drawn as inline SVG: throughput (completed and failed jobs per
// second, from the change of the state totals between two polls) and
// latency (queue wait and run time percentiles of recently finished jobs).
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

export function fmtRate(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

// fmtMs shows milliseconds as "<1 ms", "35 ms", "1.2 s", "3.5 min".
export function fmtMs(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "—";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  return (ms / 60000).toFixed(1) + " min";
}

function spanText(ms) {
  const secs = Math.round(ms / 1000);
  return secs >= 120 ? Math.round(secs / 60) + " min" : secs + " s";
}

// lineChart draws points ({t, <key>: number}) as one line per series
// ({key, cls}) over time; fmtTop labels the top of the scale.
function lineChart(points, series, fmtTop, label) {
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  // Headroom above the highest point keeps it off the frame and the label.
  const top = niceMax(1.15 * Math.max(...points.flatMap((p) => series.map((x) => p[x.key] || 0))));
  const x = (t) => ((t - t0) / span) * W;
  const y = (v) => H - ((v || 0) / top) * (H - 6);
  const line = (key) => points.map((p) => x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": label },
    [0.25, 0.5, 0.75].map((f) => s("line", { x1: 0, x2: W, y1: y(top * f), y2: y(top * f), class: "grid", "vector-effect": "non-scaling-stroke" })),
    series.map((ser) => [
      s("polygon", { points: "0," + H + " " + line(ser.key) + " " + W + "," + H, class: "area-" + ser.cls }),
      s("polyline", { points: line(ser.key), class: "line-" + ser.cls, "vector-effect": "non-scaling-stroke" }),
    ]),
  );
  return { frame: h("div", { class: "chart-frame" }, h("span", { class: "chart-top muted" }, fmtTop(top)), svg), span };
}

// throughputChart returns a figure with the SVG and its legend.
export function throughputChart(samples) {
  const rs = rates(samples);
  const fig = h("figure", { class: "chart" });
  if (rs.length < 2) {
    fig.append(h("div", { class: "chart-empty muted" }, "collecting: the chart fills in as the page polls every 2 s"));
    return fig;
  }
  const { frame, span } = lineChart(rs, [{ key: "completed", cls: "completed" }, { key: "failed", cls: "failed" }], (v) => fmtRate(v) + "/s", "completed and failed jobs per second");
  const last = rs[rs.length - 1];
  fig.append(
    frame,
    h(
      "figcaption",
      { class: "legend" },
      h("span", { class: "key key-completed" }, "completed ", h("strong", { class: "rate-completed" }, fmtRate(last.completed)), "/s"),
      h("span", { class: "key key-failed" }, "failed ", h("strong", { class: "rate-failed" }, fmtRate(last.failed)), "/s"),
      h("span", { class: "muted" }, "last " + spanText(span) + ", from count changes between polls"),
    ),
  );
  return fig;
}

// percentile of sorted numbers (nearest rank); null when empty.
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// latencyOf measures finished jobs: wait is from when the latest attempt
// could start (run_at, or enqueue if later) to when it started; run is its
// duration.
export function latencyOf(jobs) {
  const waits = [];
  const runs = [];
  for (const j of jobs) {
    if (!j.started_at) continue;
    const start = Date.parse(j.started_at);
    const ready = Math.max(Date.parse(j.run_at), Date.parse(j.enqueued_at));
    if (isFinite(start) && isFinite(ready)) waits.push(Math.max(0, start - ready));
    if (j.started_at && j.finished_at) {
      const d = Date.parse(j.finished_at) - start;
      if (isFinite(d)) runs.push(Math.max(0, d));
    }
  }
  waits.sort((a, b) => a - b);
  runs.sort((a, b) => a - b);
  return { n: waits.length, wait50: percentile(waits, 0.5), wait95: percentile(waits, 0.95), run50: percentile(runs, 0.5), run95: percentile(runs, 0.95) };
}

// latencyChart shows the latest percentiles and their history.
export function latencyChart(history) {
  const fig = h("figure", { class: "chart" });
  const last = history[history.length - 1];
  if (!last || last.n === 0) {
    fig.append(h("div", { class: "chart-empty muted" }, "no finished job yet"));
    return fig;
  }
  const stat = (label, key, cls) => h("div", { class: "stat" }, h("div", { class: "card-label" }, label), h("div", { class: "stat-value " + (cls || ""), dataset: { stat: key } }, fmtMs(last[key])));
  fig.append(
    h("div", { class: "stats" }, stat("wait p50", "wait50", "key key-wait50"), stat("wait p95", "wait95", "key key-wait95"), stat("run p50", "run50"), stat("run p95", "run95")),
  );
  if (history.length >= 2) {
    fig.append(lineChart(history, [{ key: "wait95", cls: "wait95" }, { key: "wait50", cls: "wait50" }], fmtMs, "queue wait p50 and p95 over time").frame);
  }
  fig.append(h("figcaption", { class: "legend muted" }, "of the " + last.n + " most recently enqueued finished jobs: wait is from ready (run_at) to the start of the latest attempt, run from that start to the end"));
  return fig;
}
