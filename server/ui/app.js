"use strict";
// Placeholder admin page: polls the API for queues and the latest jobs.
// Builds DOM nodes with textContent only, so job data cannot inject markup.
const states = ["scheduled", "queued", "running", "retrying", "completed", "failed", "cancelled"];
let token = sessionStorage.getItem("conveyor-token") || "";

async function api(path) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const res = await fetch(path, { headers });
  if (res.status === 401 || res.status === 403) {
    document.getElementById("auth").hidden = false;
    throw new Error("the API needs a token (" + res.status + ")");
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tbodySel, rows) {
  const tbody = document.querySelector(tbodySel + " tbody");
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [q, j] = await Promise.all([api("/api/v1/queues"), api("/api/v1/jobs?limit=25")]);
    fill("#queues", q.queues.map((x) => [
      cell(x.name), cell(x.paused ? "yes" : "no"),
      ...states.map((s) => cell(x.counts[s], "num")),
      cell(x.oldest_queued_age_seconds != null ? x.oldest_queued_age_seconds.toFixed(1) + " s ago" : ""),
    ]));
    fill("#jobs", j.jobs.map((x) => [
      cell(x.id), cell(x.kind), cell(x.queue), cell(x.state, "state-" + x.state),
      cell(x.attempt + "/" + x.max_attempts, "num"), cell(new Date(x.enqueued_at).toLocaleTimeString()),
      cell(x.duration || ""), cell(x.errors.length ? x.errors[x.errors.length - 1].message : ""),
    ]));
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.textContent = e.message;
  }
}

document.getElementById("save").addEventListener("click", () => {
  token = document.getElementById("token").value.trim();
  sessionStorage.setItem("conveyor-token", token);
  document.getElementById("auth").hidden = true;
  refresh();
});
refresh();
setInterval(refresh, 2000);
