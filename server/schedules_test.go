package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"conveyor/schedule"
	"conveyor/server"

	"github.com/stretchr/testify/require"
)

func TestSchedulesCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.do("GET", "/api/v1/schedules", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"schedules":[]}`, string(r.body))

	r = b.do("POST", "/api/v1/schedules", `{"name":"nightly","cron":"0 3 * * *","timezone":"Europe/Paris","kind":"demo.echo","args":{"x":1},"timeout":"90s","overlap":"skip"}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	require.Equal(t, "/api/v1/schedules/nightly", r.header.Get("Location"))
	var e schedule.Entry
	r.decode(t, &e)
	require.Equal(t, "nightly", e.Name)
	require.Equal(t, 90*time.Second, e.Timeout)
	require.Equal(t, schedule.OverlapSkip, e.Overlap)
	require.False(t, e.State.NextRun.IsZero())
	require.Equal(t, 3, e.State.NextRun.In(mustZone(t, "Europe/Paris")).Hour(), "03:00 in Paris")
	var raw struct {
		State struct {
			NextRun string `json:"next_run"`
		} `json:"state"`
	}
	r.decode(t, &raw)
	require.True(t, strings.HasSuffix(raw.State.NextRun, ":00:00Z"), "stored in UTC: %s", raw.State.NextRun)

	requireErr(t, b.do("POST", "/api/v1/schedules", `{"name":"nightly","cron":"@daily","kind":"demo.echo"}`), 409, server.CodeConflict, `"nightly" already exists`)

	// PUT replaces the definition and keeps the state; the body may omit the name.
	r = b.do("PUT", "/api/v1/schedules/nightly", `{"cron":"30 4 * * *","kind":"demo.echo","enabled":false}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var e2 schedule.Entry
	r.decode(t, &e2)
	require.True(t, e2.Disabled)
	require.Equal(t, e.State.Since, e2.State.Since)
	require.Greater(t, e2.Version, e.Version)
	// PUT creates as well.
	require.Equal(t, http.StatusOK, b.do("PUT", "/api/v1/schedules/hourly", `{"name":"hourly","cron":"@hourly","kind":"demo.echo"}`).status)

	r = b.do("GET", "/api/v1/schedules/nightly", nil)
	require.Equal(t, http.StatusOK, r.status)
	var list server.ScheduleListView
	r = b.doAs(readToken, "GET", "/api/v1/schedules", nil)
	r.decode(t, &list)
	require.Len(t, list.Schedules, 2)
	require.Equal(t, "hourly", list.Schedules[0].Name)

	// Trigger enqueues a job now.
	r = b.do("POST", "/api/v1/schedules/hourly/trigger", nil)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var ev server.EnqueueView
	r.decode(t, &ev)
	job := b.getJob(ev.ID)
	require.Equal(t, "demo.echo", job.Kind)

	require.Equal(t, http.StatusNoContent, b.do("DELETE", "/api/v1/schedules/nightly", nil).status)
	requireErr(t, b.do("DELETE", "/api/v1/schedules/nightly", nil), 404, server.CodeNotFound)
	requireErr(t, b.do("GET", "/api/v1/schedules/nightly", nil), 404, server.CodeNotFound)
	requireErr(t, b.do("POST", "/api/v1/schedules/nightly/trigger", nil), 404, server.CodeNotFound)
	require.Positive(t, b.validated)
}

func TestSchedulesRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOpts) { o.knownKinds = func(k string) bool { return k == "demo.echo" } })
	for body, want := range map[string]string{
		`{"name":"a","cron":"99 * * * *","kind":"demo.echo"}`:              `cron "99 * * * *"`,
		`{"name":"a","cron":"@daily","kind":"demo.echo","timezone":"X/Y"}`: `timezone "X/Y"`,
		`{"name":"a","cron":"@daily","kind":"demo.echo","missed":"later"}`: "missed must be",
		`{"name":"a","cron":"@daily","kind":"demo.echo","cronn":"x"}`:      `unknown field "cronn"`,
		`{"name":"a b","cron":"@daily","kind":"demo.echo"}`:                "may hold only",
		`{"name":"a","cron":"@daily","kind":"demo.echo","timeout":"soon"}`: `timeout "soon"`,
		`{"name":"a","cron":"@daily"`:                                      "unexpected EOF",
	} {
		requireErr(t, b.do("POST", "/api/v1/schedules", body), 400, server.CodeInvalidSchedule, want)
	}
	requireErr(t, b.do("POST", "/api/v1/schedules", `{"name":"a","cron":"@daily","kind":"other.kind"}`), 422, server.CodeUnknownKind, `"other.kind"`)
	requireErr(t, b.do("PUT", "/api/v1/schedules/a", `{"name":"b","cron":"@daily","kind":"demo.echo"}`), 400, server.CodeBadRequest, `body names schedule "b" but the path names "a"`)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/schedules", `{"name":"a","cron":"@daily","kind":"demo.echo"}`), 403, server.CodeForbidden)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/schedules/a/trigger", nil), 403, server.CodeForbidden)
	requireErr(t, b.doAs("", "GET", "/api/v1/schedules", nil), 401, server.CodeUnauthorized)
	r := b.do("GET", "/api/v1/schedules", nil)
	require.JSONEq(t, `{"schedules":[]}`, string(r.body), "nothing was stored")
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// TestScheduleTriggerIdempotencyKey: a trigger retried with the same
// Idempotency-Key answers the first one's job (200, duplicate) instead of
// enqueueing another; another key enqueues again; bad keys are 400s.
func TestScheduleTriggerIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do("POST", "/api/v1/schedules", map[string]any{"name": "report", "cron": "@daily", "kind": "demo.echo"})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	key := map[string]string{"Idempotency-Key": "retry-me-7"}

	r = b.doWith(key, "POST", "/api/v1/schedules/report/trigger", nil)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var first server.EnqueueView
	r.decode(t, &first)
	require.False(t, first.Duplicate)

	r = b.doWith(key, "POST", "/api/v1/schedules/report/trigger", nil)
	require.Equal(t, http.StatusOK, r.status, "the retry enqueued nothing: %s", r.body)
	var again server.EnqueueView
	r.decode(t, &again)
	require.True(t, again.Duplicate)
	require.Equal(t, first.ID, again.ID)

	r = b.doWith(map[string]string{"Idempotency-Key": "another"}, "POST", "/api/v1/schedules/report/trigger", nil)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var other server.EnqueueView
	r.decode(t, &other)
	require.NotEqual(t, first.ID, other.ID)

	for _, bad := range []string{"has space", strings.Repeat("k", 256), "tab\there"} {
		r = b.doWith(map[string]string{"Idempotency-Key": bad}, "POST", "/api/v1/schedules/report/trigger", nil)
		requireErr(t, r, http.StatusBadRequest, server.CodeInvalidSchedule, "idempotency key")
	}
	r = b.do("GET", "/api/v1/jobs?kind=demo.echo", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var jobs server.JobListView
	r.decode(t, &jobs)
	require.Len(t, jobs.Jobs, 2, "two keys, two jobs")
}
