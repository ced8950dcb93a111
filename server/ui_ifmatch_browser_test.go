package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// freezePolls stops the page's 2 s refresh (it skips hidden documents), so
// the page keeps showing what it read, as between two polls, while the test
// changes things behind its back. The page's own reloads still run.
const freezePolls = `Object.defineProperty(document, "hidden", { configurable: true, get: () => true })`

// TestAdminUIIfMatchBrowser: the schedules and webhooks pages send If-Match
// with the version they show, so an edit made elsewhere since is not
// overwritten by a click: the page says so and shows the record as it is.
func TestAdminUIIfMatchBrowser(t *testing.T) {
	browser := newBrowser(t)

	t.Run("schedules", func(t *testing.T) {
		b := setup(t)
		r := b.do("POST", "/api/v1/schedules", map[string]any{"name": "nightly", "cron": "0 3 * * *", "kind": "report.build", "queue": "reports"})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		tb := openTab(t, browser, b, adminToken, "#/schedules")
		tb.wait(`document.querySelector('tr[data-schedule="nightly"] button[data-action="disable"]')`)
		tb.eval(freezePolls)

		// Someone else edits the schedule while the page shows the old one.
		r = b.do("PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 3 * * *", "kind": "report.build", "queue": "theirs"})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		require.Contains(t, tb.text(`tr[data-schedule="nightly"]`), "reports", "the page still shows what it read")

		tb.click(`tr[data-schedule="nightly"] button[data-action="disable"]`)
		tb.waitText(".flash-error", "changed elsewhere, reloaded")
		e := getSchedule(t, b, "nightly")
		require.Equal(t, "theirs", e.Queue, "the edit made elsewhere survived")
		require.True(t, e.Enabled, "the stale click wrote nothing")
		tb.waitText(`tr[data-schedule="nightly"]`, "theirs")

		// Reloaded, the page holds the new version: the click now applies.
		tb.click(`tr[data-schedule="nightly"] button[data-action="disable"]`)
		tb.wait(`document.querySelector('tr[data-schedule="nightly"]').dataset.enabled === "false"`)
		e = getSchedule(t, b, "nightly")
		require.False(t, e.Enabled)
		require.Equal(t, "theirs", e.Queue)
	})

	t.Run("webhooks", func(t *testing.T) {
		b := setup(t)
		r := b.do("POST", "/api/v1/webhooks", map[string]any{"events": []string{"doc.*"}, "url": "https://example.com/hook"})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		var created struct{ ID string }
		r.decode(t, &created)
		row := `tr[data-webhook="` + created.ID + `"]`
		tb := openTab(t, browser, b, adminToken, "#/webhooks")
		tb.wait(`document.querySelector('` + row + ` button[data-action="disable"]')`)
		tb.eval(freezePolls)

		r = b.do("PUT", "/api/v1/webhooks/"+created.ID, map[string]any{"events": []string{"doc.*"}, "url": "https://example.com/theirs"})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

		tb.click(row + ` button[data-action="disable"]`)
		tb.waitText(".flash-error", "changed elsewhere, reloaded")
		var sub struct {
			URL     string `json:"url"`
			Enabled bool   `json:"enabled"`
		}
		b.do("GET", "/api/v1/webhooks/"+created.ID, nil).decode(t, &sub)
		require.Equal(t, "https://example.com/theirs", sub.URL, "the edit made elsewhere survived")
		require.True(t, sub.Enabled, "the stale click wrote nothing")
		tb.waitText(row, "example.com/theirs")

		tb.click(row + ` button[data-action="disable"]`)
		tb.wait(`document.querySelector('` + row + `').dataset.enabled === "false"`)
		b.do("GET", "/api/v1/webhooks/"+created.ID, nil).decode(t, &sub)
		require.False(t, sub.Enabled)
		require.Equal(t, "https://example.com/theirs", sub.URL)
	})
}
