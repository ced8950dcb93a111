package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/events"
	"conveyor/server"
	"conveyor/webhook"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// The admin UI driven by a real headless Chromium (DESIGN.md §10): each
// subtest gets its own server over a temp SQLite backend and its own tab of
// one shared browser; they run in parallel, as most of their time is spent
// waiting for the page's 2 s polls.

const chromiumPath = "/usr/bin/chromium"

// pageProbe runs in every document before the page's own scripts: it
// records CSP violations and uncaught errors so each check can insist there
// were none.
const pageProbe = `
window.__probe = { csp: [], errors: [] };
document.addEventListener("securitypolicyviolation", (e) => window.__probe.csp.push(e.violatedDirective + " " + e.blockedURI));
window.addEventListener("error", (e) => window.__probe.errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__probe.errors.push(String(e.reason)));
`

// newBrowser starts headless Chromium for the test, or skips it when
// Chromium is not installed (fails instead under CONVEYOR_TEST_REQUIRE_ALL).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CONVEYOR_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("admin UI browser tests need %s (CONVEYOR_TEST_REQUIRE_ALL=1): %v; install it with apt-get install chromium", chromiumPath, err)
		}
		t.Skipf("skipping the admin UI browser tests: %s not found (apt-get install chromium)", chromiumPath)
	}
	dir := t.TempDir()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The subtests run side by side in tabs: none may be throttled as
		// a background tab.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// Start the browser now, so a broken install fails here, once.
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate("about:blank")), "start %s", chromiumPath)
	return browser
}

// tab is one browser tab on one test server.
type tab struct {
	t   *testing.T
	ctx context.Context
	b   *bundle
}

// openTab opens a tab on b's server with token in the tab's session
// storage ("" for none), showing the page at hash.
func openTab(t *testing.T, browser context.Context, b *bundle, token, hash string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe})
	require.NoError(t, err)
	tb := &tab{t: t, ctx: ctx, b: b}
	if token != "" {
		// Session storage belongs to the origin: set it from a page of the
		// server that runs no script.
		tb.do(chromedp.Navigate(b.url + "/ui/style.css"))
		tokJSON, _ := json.Marshal(token)
		tb.eval(`sessionStorage.setItem("conveyor-token", ` + string(tokJSON) + `)`)
	}
	tb.do(chromedp.Navigate(b.url + "/" + hash))
	t.Cleanup(tb.checkProbe)
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	require.NoError(tb.t, chromedp.Do(tb.ctx, actions...))
}

func (tb *tab) eval(js string) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](js))
}

// wait polls the JS expression until it is truthy (10 s at most).
func (tb *tab) wait(expr string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("waiting for %s: %v\npage text: %s", expr, err, tb.pageText())
	}
}

// waitText waits until the element matching the CSS selector contains want.
func (tb *tab) waitText(sel, want string) {
	tb.t.Helper()
	tb.wait(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e && e.textContent.includes(%s); })()`, jsString(sel), jsString(want)))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : ""; })()`, jsString(sel))))
	require.NoError(tb.t, err)
	return s
}

func (tb *tab) count(sel string) int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel))))
	require.NoError(tb.t, err)
	return n
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto replaces the value of an input with v.
func (tb *tab) typeInto(sel, v string) {
	tb.t.Helper()
	// Setting the value is much faster than a key event per character
	// over the protocol; the UI reads values on submit, as with typing.
	tb.eval(`(() => { const e = document.querySelector(` + jsString(sel) + `); e.value = ` + jsString(v) + `; e.dispatchEvent(new Event("input", { bubbles: true })); })()`)
}

// confirmDialog answers yes in the UI's confirmation dialog.
func (tb *tab) confirmDialog() {
	tb.t.Helper()
	tb.wait(`document.getElementById("confirm").open`)
	tb.click("#confirm-yes")
}

// waitPolls waits until the page has polled the API n more times (the
// header's "live · time" changes with each poll).
func (tb *tab) waitPolls(n int) {
	tb.t.Helper()
	for range n {
		tb.wait(`(() => { const now = document.getElementById("live").textContent; if (window.__lastLive === undefined) window.__lastLive = now; if (now !== window.__lastLive && now.startsWith("live")) { window.__lastLive = now; return true; } return false; })()`)
	}
}

func (tb *tab) pageText() string {
	s, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	return s
}

// checkProbe fails the test on any CSP violation or uncaught script error.
func (tb *tab) checkProbe() {
	tb.t.Helper()
	if tb.t.Failed() || tb.ctx.Err() != nil {
		return
	}
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify(window.__probe || {})`))
	require.NoError(tb.t, err)
	var p struct{ CSP, Errors []string }
	require.NoError(tb.t, json.Unmarshal([]byte(raw), &p))
	require.Empty(tb.t, p.CSP, "CSP violations")
	require.Empty(tb.t, p.Errors, "uncaught script errors")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// seededJobs names the jobs seed stores.
type seededJobs struct {
	completed, failed, running, queued, queued2, scheduled, mail string
}

// seed stores jobs in every interesting state: one completed, one failed
// (with an error and a stack), one running, two queued and one scheduled in
// queue default, and one queued in queue mail.
func seed(t *testing.T, b *bundle) seededJobs {
	t.Helper()
	var s seededJobs
	s.completed = b.enqueue(map[string]any{"kind": "report.build", "args": map[string]any{"day": "2026-11-23"}})
	b.finish(b.claim("default"), backend.OutcomeCompleted, json.RawMessage(`{"rows":42}`), nil)
	s.failed = b.enqueue(map[string]any{"kind": "email.send", "args": map[string]any{"to": "a@example.com"}, "max_attempts": 1, "tags": []string{"billing"}})
	b.finish(b.claim("default"), backend.OutcomeFailed, nil, &backend.AttemptError{Attempt: 1, At: time.Now(), Message: "smtp: 550 mailbox unavailable", Stack: "goroutine 7 [running]:\nmain.send()\n\t/app/mail.go:42"})
	s.running = b.enqueue(map[string]any{"kind": "video.encode", "args": map[string]any{"file": "a.mp4"}})
	b.claim("default")
	s.queued = b.enqueue(map[string]any{"kind": "email.send", "args": map[string]any{"to": "b@example.com"}})
	s.queued2 = b.enqueue(map[string]any{"kind": "email.send", "args": map[string]any{"to": "c@example.com"}})
	s.scheduled = b.enqueue(map[string]any{"kind": "report.build", "delay": "1h"})
	s.mail = b.enqueue(map[string]any{"kind": "email.send", "queue": "mail"})
	return s
}

// finish records the outcome of a claimed job as a worker would.
func (b *bundle) finish(j *backend.Job, o backend.Outcome, result json.RawMessage, ae *backend.AttemptError) {
	b.t.Helper()
	res, err := b.backend.JobFinish(b.t.Context(), &backend.JobFinishParams{
		Jobs: []*backend.JobOutcome{{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: o, Result: result, Error: ae}},
		Now:  time.Now(),
	})
	require.NoError(b.t, err)
	require.Empty(b.t, res.LeaseLost)
}

func TestAdminUIBrowser(t *testing.T) {
	browser := newBrowser(t)

	t.Run("dashboard shows counts and throughput", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b)
		tb := openTab(t, browser, b, adminToken, "#/")
		tb.waitText(`[data-total="all"]`, "7")
		for state, want := range map[string]string{"scheduled": "1", "queued": "3", "running": "1", "retrying": "0", "completed": "1", "failed": "1", "cancelled": "0"} {
			require.Equal(t, want, tb.text(`[data-total="`+state+`"]`), state)
		}
		require.Equal(t, "2", tb.text(`tr[data-queue="default"] .count-queued`))
		require.Equal(t, "1", tb.text(`tr[data-queue="mail"] .count-queued`))
		require.NotEmpty(t, tb.text("#oldest-age"))
		// No event bus in this server: the page says it polls.
		tb.waitText("#events", "no event stream")
		// Latency of the finished jobs (one completed, one failed).
		tb.wait(`document.querySelector('#latency [data-stat="wait50"]')`)
		require.Contains(t, tb.text("#latency figcaption"), "of the 2 most recently enqueued finished jobs")
		for _, stat := range []string{"wait50", "wait95", "run50", "run95"} {
			require.Regexp(t, `^(<1 ms|\d+ ms|[\d.]+ s)$`, tb.text(`#latency [data-stat="`+stat+`"]`), stat)
		}
		// Complete a job between polls: the chart draws the change.
		tb.wait(`document.querySelector("#throughput svg")`)
		b.finish(b.claim("default"), backend.OutcomeCompleted, nil, nil)
		tb.wait(`(() => { const e = document.querySelector(".rate-completed"); return e && Number(e.textContent) > 0; })()`)
		tb.waitText(`[data-total="completed"]`, "2")
	})

	t.Run("jobs filter by state and paginate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		tb := openTab(t, browser, b, adminToken, "#/jobs")
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 7`)
		// Each state box shows its count, from the queue poll.
		tb.waitText(`[data-count="queued"]`, "3")
		require.Equal(t, "1", tb.text(`[data-count="failed"]`))
		require.Equal(t, "0", tb.text(`[data-count="retrying"]`))
		tb.click(`#job-filters input[value="failed"]`)
		tb.wait(`location.hash === "#/jobs?state=failed"`)
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 1`)
		require.Equal(t, 1, tb.count(`#job-results tr[data-id="`+s.failed+`"]`))
		// A second state widens the filter.
		tb.click(`#job-filters input[value="queued"]`)
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 4`)
		require.Equal(t, 0, tb.count(`#job-results tr[data-state="completed"]`))
		// A scheduled job says when it runs.
		tb.click(`#job-filters input[value="scheduled"]`)
		tb.waitText(`#job-results tr[data-id="`+s.scheduled+`"]`, "(in 59 min")

		// 30 jobs in queue bulk: page 1 has 25, next has 5, prev has 25 again.
		batch := make([]map[string]any, 30)
		for i := range batch {
			batch[i] = map[string]any{"kind": "bulk.item", "queue": "bulk", "args": map[string]int{"n": i}}
		}
		require.Equal(t, http.StatusCreated, b.do("POST", "/api/v1/jobs", batch).status)
		tb.do(chromedp.Navigate(b.url + "/#/jobs?queue=bulk&limit=25"))
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 25`)
		first := tb.text(`#job-results tr[data-id] a`)
		tb.click("#next-page")
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 5`)
		tb.waitText("#page-label", "page 2")
		require.True(t, tb.count("#next-page:disabled") == 1, "no page after the last")
		tb.click("#prev-page")
		tb.wait(`document.querySelectorAll("#job-results tr[data-id]").length === 25`)
		require.Equal(t, first, tb.text(`#job-results tr[data-id] a`))

		// Search by ID opens the job.
		tb.typeInto("#job-id-search", s.failed)
		tb.click(`#job-search button`)
		tb.waitText("#job-fields", s.failed)
	})

	t.Run("job detail shows args, result, errors and timeline", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		tb := openTab(t, browser, b, readToken, "#/jobs/"+s.failed)
		tb.waitText("#job-args", `"to": "a@example.com"`)
		require.Contains(t, tb.text("#job-errors"), "smtp: 550 mailbox unavailable")
		require.Contains(t, tb.text("#job-errors details .stack"), "/app/mail.go:42")
		require.Contains(t, tb.text("#timeline"), "attempt 1 failed")
		require.Contains(t, tb.text("#timeline"), "enqueued")
		require.Contains(t, tb.text("#job-fields"), "billing")
		require.Contains(t, tb.text("#job-fields"), "1 of 1")

		tb.do(chromedp.Navigate(b.url + "/#/jobs/" + s.completed))
		tb.waitText("#job-result", `"rows": 42`)
		require.Contains(t, tb.text("#timeline"), "completed")
		tb.do(chromedp.Navigate(b.url + "/#/jobs/no-such-job"))
		tb.waitText("#view", "Job not found")
		// A malformed escape in the address is shown as typed, not thrown.
		tb.do(chromedp.Navigate(b.url + "/#/jobs/%E0%A4%A"))
		tb.waitText("#view", "%E0%A4%A")
	})

	t.Run("cancel from the UI and show wrong_state", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		tb := openTab(t, browser, b, adminToken, "#/jobs/"+s.queued)
		tb.waitText("#job-fields", "queued")
		tb.click("#action-cancel")
		tb.confirmDialog()
		tb.waitText(".flash-ok", "cancelled")
		require.Equal(t, "cancelled", string(b.getJob(s.queued).State))
		tb.waitText("#view h1", "cancelled")
		// Cancelling again: the API's 409 is shown to the user.
		tb.click("#action-cancel")
		tb.confirmDialog()
		tb.waitText(".flash-error", "wrong_state (409)")
		// Declining the confirmation does nothing.
		tb.click("#action-retry")
		tb.wait(`document.getElementById("confirm").open`)
		tb.click("#confirm-no")
		tb.wait(`!document.getElementById("confirm").open`)
		require.Equal(t, "cancelled", string(b.getJob(s.queued).State))
		// Retry, then delete.
		tb.click("#action-retry")
		tb.confirmDialog()
		tb.waitText(".flash-ok", "queued again")
		require.Equal(t, "queued", string(b.getJob(s.queued).State))
		tb.click("#action-delete")
		tb.confirmDialog()
		tb.wait(`location.hash === "#/jobs"`)
		r := b.do("GET", "/api/v1/jobs/"+s.queued, nil)
		require.Equal(t, http.StatusNotFound, r.status)

		// A running job is asked to stop: it stays running until its
		// handler returns, and the page says so.
		tb.do(chromedp.Navigate(b.url + "/#/jobs/" + s.running))
		tb.waitText("#job-fields", "running")
		tb.click("#action-cancel")
		tb.confirmDialog()
		tb.waitText(".flash-ok", "cancel requested")
		tb.waitText("#job-fields", "cancel requested")
		require.True(t, b.getJob(s.running).CancelRequested)
	})

	t.Run("pause and resume a queue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b)
		tb := openTab(t, browser, b, adminToken, "#/queues")
		// Polls that bring nothing new keep the rows, so a click is never
		// lost to a redraw; a change redraws.
		tb.wait(`document.querySelector('tr[data-queue="mail"]')`)
		tb.eval(`document.querySelector('tr[data-queue="mail"]').__mark = 1`)
		tb.waitPolls(2)
		require.Equal(t, 1, tb.count(`tr[data-queue="mail"] .age`))
		tb.wait(`document.querySelector('tr[data-queue="mail"]').__mark === 1`)
		b.enqueue(map[string]any{"kind": "email.send", "queue": "mail"})
		tb.wait(`document.querySelector('tr[data-queue="mail"]').__mark === undefined`)
		tb.click(`tr[data-queue="mail"] button[data-action="pause"]`)
		tb.wait(`document.querySelector('tr[data-queue="mail"]').dataset.paused === "true"`)
		require.True(t, queuePaused(t, b, "mail"))
		require.False(t, queuePaused(t, b, "default"))
		tb.click(`tr[data-queue="mail"] button[data-action="resume"]`)
		tb.wait(`document.querySelector('tr[data-queue="mail"]').dataset.paused === "false"`)
		require.False(t, queuePaused(t, b, "mail"))
	})

	t.Run("throughput is not skewed by the poll after an action", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b)
		for range 3 {
			b.enqueue(map[string]any{"kind": "burst.item", "queue": "burst"})
		}
		tb := openTab(t, browser, b, adminToken, "#/queues")
		tb.wait(`document.querySelector('tr[data-queue="mail"]')`)
		// Right after a poll, 3 jobs complete and an action polls again at
		// once: counted over that short gap they would read as a burst of
		// many jobs per second.
		tb.waitPolls(1)
		for range 3 {
			b.finish(b.claim("burst"), backend.OutcomeCompleted, nil, nil)
		}
		tb.click(`tr[data-queue="mail"] button[data-action="pause"]`)
		tb.wait(`document.querySelector('tr[data-queue="mail"]').dataset.paused === "true"`)
		tb.waitPolls(1)
		tb.eval(`location.hash = "#/"`)
		tb.wait(`document.querySelector("#throughput svg")`)
		// Samples are at least a second apart, so 3 jobs read as 3/s at most
		// (scale top 5/s).
		top := tb.text("#throughput .chart-top")
		var v float64
		_, err := fmt.Sscanf(top, "%f/s", &v)
		require.NoError(t, err, top)
		require.LessOrEqual(t, v, 5.0, top)
	})

	t.Run("schedules: add, validation message, disable, trigger, delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tb := openTab(t, browser, b, adminToken, "#/schedules")
		tb.waitText("#schedule-list", "no schedules yet")

		// A bad cron shows the API's own message.
		bad := map[string]any{"name": "broken", "cron": "61 * * * *", "kind": "report.build"}
		r := b.do("POST", "/api/v1/schedules", bad)
		require.Equal(t, http.StatusBadRequest, r.status)
		_, apiMsg := r.err(t)
		tb.typeInto(`#schedule-form [name="name"]`, "broken")
		tb.typeInto(`#schedule-form [name="cron"]`, "61 * * * *")
		tb.typeInto(`#schedule-form [name="kind"]`, "report.build")
		tb.click("#schedule-add")
		tb.waitText("#schedule-form-error", apiMsg)
		require.Contains(t, tb.text("#schedule-form-error"), "invalid_schedule (400)")
		// Args that are not JSON never leave the page.
		tb.typeInto(`#schedule-form [name="cron"]`, "*/5 * * * *")
		tb.typeInto(`#schedule-form [name="args"]`, "{nope")
		tb.click("#schedule-add")
		tb.waitText("#schedule-form-error", "args: not valid JSON")

		tb.typeInto(`#schedule-form [name="name"]`, "nightly")
		tb.typeInto(`#schedule-form [name="cron"]`, "0 3 * * *")
		tb.typeInto(`#schedule-form [name="timezone"]`, "Europe/Paris")
		tb.typeInto(`#schedule-form [name="queue"]`, "reports")
		tb.typeInto(`#schedule-form [name="args"]`, `{"full": true}`)
		tb.click("#schedule-form details.more summary")
		tb.typeInto(`#schedule-form [name="timeout"]`, "90s")
		tb.typeInto(`#schedule-form [name="overlap"]`, "skip")
		tb.click("#schedule-add")
		tb.wait(`document.querySelector('tr[data-schedule="nightly"]')`)
		require.Equal(t, 0, tb.count(`tr[data-schedule="broken"]`))
		require.Contains(t, tb.text(`tr[data-schedule="nightly"]`), "Europe/Paris")
		require.Contains(t, tb.text(`tr[data-schedule="nightly"]`), "in ") // next run
		e := getSchedule(t, b, "nightly")
		require.Equal(t, "reports", e.Queue)
		require.JSONEq(t, `{"full": true}`, string(e.Args))
		require.True(t, e.Enabled)
		require.Equal(t, "1m30s", e.Timeout)
		require.Equal(t, "skip", e.Overlap)

		tb.click(`tr[data-schedule="nightly"] button[data-action="disable"]`)
		tb.wait(`document.querySelector('tr[data-schedule="nightly"]').dataset.enabled === "false"`)
		e = getSchedule(t, b, "nightly")
		require.False(t, e.Enabled)
		require.Equal(t, "reports", e.Queue, "the rest of the definition is kept")
		require.Equal(t, "Europe/Paris", e.Timezone)
		require.Equal(t, "1m30s", e.Timeout)
		tb.click(`tr[data-schedule="nightly"] button[data-action="enable"]`)
		tb.wait(`document.querySelector('tr[data-schedule="nightly"]').dataset.enabled === "true"`)
		require.True(t, getSchedule(t, b, "nightly").Enabled)

		tb.click(`tr[data-schedule="nightly"] button[data-action="trigger"]`)
		tb.waitText(".flash-ok", "triggered")
		tb.click(".flash-ok a")
		tb.waitText("#job-fields", "reports")
		tb.eval(`history.back()`)
		tb.wait(`document.querySelector('tr[data-schedule="nightly"]')`)
		var list server.JobListView
		b.do("GET", "/api/v1/jobs?queue=reports", nil).decode(t, &list)
		require.Len(t, list.Jobs, 1)

		tb.click(`tr[data-schedule="nightly"] button[data-action="delete"]`)
		tb.confirmDialog()
		tb.waitText("#schedule-list", "no schedules yet")
		require.Equal(t, http.StatusNotFound, b.do("GET", "/api/v1/schedules/nightly", nil).status)
	})

	t.Run("webhooks: add with the secret shown once, validation, disable, deliveries, delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tb := openTab(t, browser, b, adminToken, "#/webhooks")
		tb.waitText("#webhook-list", "no webhooks yet")

		bad := map[string]any{"url": "ftp://hooks.example.com/c", "events": []string{"conveyor.job.failed"}}
		r := b.do("POST", "/api/v1/webhooks", bad)
		require.Equal(t, http.StatusBadRequest, r.status)
		_, apiMsg := r.err(t)
		tb.typeInto(`#webhook-form [name="url"]`, "ftp://hooks.example.com/c")
		tb.click("#webhook-add")
		tb.waitText("#webhook-form-error", apiMsg)

		tb.typeInto(`#webhook-form [name="url"]`, "https://hooks.example.com/c")
		tb.typeInto(`#webhook-form [name="events"]`, "conveyor.job.failed, conveyor.job.completed")
		tb.typeInto(`#webhook-form [name="kind"]`, "email.send")
		tb.typeInto(`#webhook-form [name="headers"]`, `{"Authorization": "Bearer s3cret-header"}`)
		tb.click("#webhook-add")
		tb.wait(`document.querySelector("#webhook-secret-value")`)
		secret := tb.text("#webhook-secret-value")
		require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
		tb.wait(`document.querySelector("#webhook-list tr[data-webhook]")`)
		id, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("#webhook-list tr[data-webhook]").dataset.webhook`))
		require.NoError(t, err)
		row := `#webhook-list tr[data-webhook="` + id + `"]`
		require.Contains(t, tb.text(row), "conveyor.job.completed")
		require.Contains(t, tb.text(row), "kind email.send")
		require.NotContains(t, tb.text("#webhook-list"), secret)
		tb.click("#webhook-secret button")
		tb.wait(`document.getElementById("webhook-secret").hidden`)

		// Disable sends the masked view back: secret and headers are kept.
		tb.click(row + ` button[data-action="disable"]`)
		tb.wait(`document.querySelector('` + row + `').dataset.enabled === "false"`)
		sub, err := webhook.NewStore(b.backend).Get(t.Context(), id)
		require.NoError(t, err)
		require.True(t, sub.Disabled)
		require.Equal(t, secret, sub.Secret)
		require.Equal(t, "Bearer s3cret-header", sub.Headers["Authorization"])
		tb.click(row + ` button[data-action="enable"]`)
		tb.wait(`document.querySelector('` + row + `').dataset.enabled === "true"`)

		// Its deliveries are the delivery jobs tagged with it.
		for range 2 {
			b.enqueue(map[string]any{"kind": webhook.Kind, "tags": []string{"webhook:" + id}, "args": map[string]string{"event": "x"}})
		}
		b.enqueue(map[string]any{"kind": webhook.Kind, "tags": []string{"webhook:other"}})
		tb.click(row + ` a.button`)
		tb.wait(`document.querySelectorAll("#delivery-results tr[data-id]").length === 2`)
		require.Contains(t, tb.text("#webhook-fields"), "Authorization")
		require.NotContains(t, tb.text("#webhook-fields"), "s3cret-header")
		require.NotContains(t, tb.text("#webhook-fields"), secret)

		tb.eval(`history.back()`)
		tb.click(row + ` button[data-action="delete"]`)
		tb.confirmDialog()
		tb.waitText("#webhook-list", "no webhooks yet")
		_, err = webhook.NewStore(b.backend).Get(t.Context(), id)
		require.Error(t, err)
	})

	t.Run("job data renders as text, never as markup", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const evil = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`
		// The API refuses such a kind; a backend written to by other
		// programs may still hold one, so store it directly.
		id := uuid.Must(uuid.NewV7()).String()
		_, err := b.backend.JobEnqueue(t.Context(), &backend.JobEnqueueParams{
			Jobs: []*backend.JobInsert{{
				ID: id, Kind: "evil" + evil, Queue: "default", Args: json.RawMessage(`{"html":` + jsString(evil) + `}`),
				MaxAttempts: 1, Timeout: time.Minute, RunAt: time.Now(), Tags: []string{evil}, Meta: json.RawMessage(`{"note":` + jsString(evil) + `}`),
			}},
			Now: time.Now(),
		})
		require.NoError(t, err)
		b.finish(b.claim("default"), backend.OutcomeFailed, nil, &backend.AttemptError{Attempt: 1, At: time.Now(), Message: "boom " + evil, Stack: evil})
		tb := openTab(t, browser, b, adminToken, "#/jobs")
		tb.waitText("#job-results", "evil<script>")
		require.Contains(t, tb.text("#job-results"), "boom <script>")
		tb.do(chromedp.Navigate(b.url + "/#/jobs/" + id))
		tb.waitText("#job-errors", "boom "+evil)
		require.Contains(t, tb.text("#job-args"), "<img src=x")
		require.Contains(t, tb.text("#job-meta"), "<script>")
		require.Contains(t, tb.text("#view h1"), "evil<script>")
		for _, sel := range []string{"#view img", "#view script", "#flash img"} {
			require.Zero(t, tb.count(sel), sel)
		}
		xss, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
		require.NoError(t, err)
		require.False(t, xss)
	})

	t.Run("token prompt on 401 and the read token's 403 on an action", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		tb := openTab(t, browser, b, "", "#/")
		tb.wait(`!document.getElementById("auth").hidden`)
		require.Contains(t, tb.text("#auth-msg"), "needs an API token")
		tb.typeInto("#token", "not-a-token")
		tb.click("#save")
		tb.wait(`!document.getElementById("auth").hidden && document.getElementById("auth-msg").textContent.includes("refused")`)
		tb.typeInto("#token", readToken)
		tb.click("#save")
		tb.waitText(`[data-total="all"]`, "7")
		tb.wait(`document.getElementById("auth").hidden`)

		tb.do(chromedp.Navigate(b.url + "/#/jobs/" + s.queued))
		tb.waitText("#job-fields", s.queued)
		tb.click("#action-cancel")
		tb.confirmDialog()
		tb.waitText(".flash-error", "forbidden (403)")
		require.Contains(t, tb.text(".flash-error"), `scope "read"`)
		require.Equal(t, "queued", string(b.getJob(s.queued).State))

		tb.do(chromedp.Navigate(b.url + "/#/queues"))
		tb.click(`tr[data-queue="mail"] button[data-action="pause"]`)
		tb.waitText(".flash-error", "forbidden (403)")
		require.False(t, queuePaused(t, b, "mail"))
	})

	t.Run("server gone and back", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b)
		srv, err := server.New(server.Config{Client: b.client, Tokens: []server.Token{{Value: adminToken, Scope: server.ScopeAdmin}}})
		require.NoError(t, err)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		serve := func(l net.Listener) *http.Server {
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = hs.Serve(l) }()
			t.Cleanup(func() { _ = hs.Close() })
			return hs
		}
		hs := serve(l)
		own := *b
		own.url = "http://" + addr
		tb := openTab(t, browser, &own, adminToken, "#/")
		tb.waitText(`[data-total="all"]`, "7")

		// Down: the poll says so, and a page opened meanwhile shows why.
		require.NoError(t, hs.Close())
		tb.waitText("#live", "cannot reach the server")
		tb.eval(`location.hash = "#/schedules"`)
		tb.waitText("#view .error-panel", "cannot reach the server")

		// Back on the same address: the page draws itself again.
		l, err = net.Listen("tcp", addr)
		require.NoError(t, err)
		serve(l)
		tb.wait(`document.querySelector("#schedule-form")`)
		tb.waitText("#live", "live")
	})

	t.Run("an action that worked is reported so even if the redraw fails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		srv, err := server.New(server.Config{Client: b.client, Tokens: []server.Token{{Value: adminToken, Scope: server.ScopeAdmin}}})
		require.NoError(t, err)
		// After the cancel, every read of the job fails.
		var cancelled atomic.Bool
		h := srv.Handler()
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "GET" && r.URL.Path == "/api/v1/jobs/"+s.queued && cancelled.Load() {
				http.Error(w, `{"error":{"code":"unavailable","message":"injected"}}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
			if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/cancel") {
				cancelled.Store(true)
			}
		}))
		t.Cleanup(hs.Close)
		own := *b
		own.url = hs.URL
		tb := openTab(t, browser, &own, adminToken, "#/jobs/"+s.queued)
		tb.waitText("#job-fields", "queued")
		tb.click("#action-cancel")
		tb.confirmDialog()
		tb.waitText(".flash-ok", "job cancelled: now cancelled")
		require.Zero(t, tb.count(".flash-error"))
		require.Equal(t, "cancelled", string(b.getJob(s.queued).State))
	})

	t.Run("job events from the stream", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		bus := events.NewMemory()
		srv, err := server.New(server.Config{Client: b.client, Events: bus, Tokens: []server.Token{{Value: readToken, Scope: server.ScopeRead}}})
		require.NoError(t, err)
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		own := *b
		own.url = hs.URL
		// The read token rides in the WebSocket subprotocol.
		tb := openTab(t, browser, &own, readToken, "#/")
		tb.waitText("#events", "connected to the event stream")
		tb.waitText("#live", "· events")
		ev, err := events.New(events.JobEventSource, "conveyor.job.failed", s.failed, events.JobData{ID: s.failed, Kind: "email.send", Queue: "default", Attempt: 1, MaxAttempts: 1})
		require.NoError(t, err)
		require.NoError(t, bus.Publish(t.Context(), ev))
		tb.wait(`document.querySelector('#events li[data-type="conveyor.job.failed"]')`)
		require.Contains(t, tb.text("#events li"), "email.send in default")
		tb.click(`#events li a`)
		tb.waitText("#job-fields", s.failed)
		// Other event types are not streamed to the page.
		other, err := events.New("app", "doc.created", "doc-1", nil)
		require.NoError(t, err)
		require.NoError(t, bus.Publish(t.Context(), other))
		tb.eval(`history.back()`)
		tb.wait(`document.querySelector('#events li')`)
		require.Equal(t, 1, tb.count("#events li"))
	})

	t.Run("dev mode without auth", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b)
		srv, err := server.New(server.Config{Client: b.client, Addr: "127.0.0.1:0", DisableAuth: true})
		require.NoError(t, err)
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		own := *b
		own.url = hs.URL
		tb := openTab(t, browser, &own, "", "#/queues")
		tb.click(`tr[data-queue="mail"] button[data-action="pause"]`)
		tb.wait(`document.querySelector('tr[data-queue="mail"]').dataset.paused === "true"`)
		require.True(t, queuePaused(t, b, "mail"))
		require.True(t, tb.count("#auth[hidden]") == 1, "no token asked for")
	})

	t.Run("narrow window", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := seed(t, b)
		tb := openTab(t, browser, b, adminToken, "")
		tb.do(chromedp.EmulateViewport(400, 800))
		for _, hash := range []string{"#/", "#/jobs", "#/jobs/" + s.failed, "#/queues", "#/schedules", "#/webhooks"} {
			tb.do(chromedp.Navigate(b.url + "/" + hash))
			tb.wait(`document.querySelector("#view h1")`)
			// The page itself does not scroll sideways; wide tables scroll
			// inside their own box.
			w, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			require.NoError(t, err)
			require.LessOrEqual(t, w, 400, hash)
		}
	})
}

func queuePaused(t *testing.T, b *bundle, name string) bool {
	t.Helper()
	var ql server.QueueListView
	b.do("GET", "/api/v1/queues", nil).decode(t, &ql)
	for _, q := range ql.Queues {
		if q.Name == name {
			return q.Paused
		}
	}
	t.Fatalf("no queue %q", name)
	return false
}

// scheduleJSON is the part of a schedule the UI tests look at.
type scheduleJSON struct {
	Queue    string          `json:"queue"`
	Timezone string          `json:"timezone"`
	Args     json.RawMessage `json:"args"`
	Enabled  bool            `json:"enabled"`
	Timeout  string          `json:"timeout"`
	Overlap  string          `json:"overlap"`
}

func getSchedule(t *testing.T, b *bundle, name string) scheduleJSON {
	t.Helper()
	r := b.do("GET", "/api/v1/schedules/"+name, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var e scheduleJSON
	r.decode(t, &e)
	return e
}
