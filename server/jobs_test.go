package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/server"

	"github.com/stretchr/testify/require"
)

func TestEnqueueSingle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runAt := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	r := b.do("POST", "/api/v1/jobs", map[string]any{
		"kind": "email.send", "args": map[string]any{"to": "a@example.com"}, "queue": "mail", "priority": 5,
		"run_at": runAt, "max_attempts": 3, "timeout": "90s", "unique_key": "welcome:1",
		"tags": []string{"welcome"}, "meta": map[string]any{"tenant": "t1"},
	})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var ev server.EnqueueView
	r.decode(t, &ev)
	require.False(t, ev.Duplicate)
	require.Equal(t, conveyor.StateScheduled, ev.State)
	require.Equal(t, "/api/v1/jobs/"+ev.ID, r.header.Get("Location"))

	j := b.getJob(ev.ID)
	require.Equal(t, "email.send", j.Kind)
	require.Equal(t, "mail", j.Queue)
	require.JSONEq(t, `{"to":"a@example.com"}`, string(j.Args))
	require.Equal(t, 5, j.Priority)
	require.Equal(t, 3, j.MaxAttempts)
	require.Equal(t, "1m30s", j.Timeout)
	require.WithinDuration(t, runAt, j.RunAt, time.Millisecond)
	require.Equal(t, "welcome:1", j.UniqueKey)
	require.Equal(t, []string{"welcome"}, j.Tags)
	require.JSONEq(t, `{"tenant":"t1"}`, string(j.Meta))
	require.Empty(t, j.Errors)
	require.Nil(t, j.StartedAt)
	require.Empty(t, j.Duration)
	require.Equal(t, 2, b.validated, "answers are checked against the OpenAPI document")
}

func TestEnqueueDefaultsAndDelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.echo"}`)
	j := b.getJob(id)
	require.Equal(t, "default", j.Queue)
	require.Equal(t, conveyor.StateQueued, j.State)
	require.JSONEq(t, `{}`, string(j.Args))
	require.Equal(t, conveyor.DefaultMaxAttempts, j.MaxAttempts)
	require.Equal(t, "5m0s", j.Timeout)

	// delay as seconds and as a duration string
	before := time.Now()
	for _, delay := range []string{`30`, `"30s"`, `30.0`} {
		id := b.enqueue(`{"kind":"demo.echo","delay":` + delay + `}`)
		j := b.getJob(id)
		require.Equal(t, conveyor.StateScheduled, j.State, delay)
		require.WithinDuration(t, before.Add(30*time.Second), j.RunAt, 5*time.Second, delay)
	}
}

func TestEnqueueDuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"kind":"demo.echo","unique_key":"k1"}`
	id := b.enqueue(body)
	r := b.do("POST", "/api/v1/jobs", body)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var ev server.EnqueueView
	r.decode(t, &ev)
	require.True(t, ev.Duplicate)
	require.Equal(t, id, ev.ID)
}

func TestEnqueueBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOpts) { o.maxBatch = 3 })
	r := b.do("POST", "/api/v1/jobs", `[{"kind":"a"},{"kind":"b","queue":"q2"},{"kind":"c","unique_key":"u"}]`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var bv server.EnqueueBatchView
	r.decode(t, &bv)
	require.Len(t, bv.Jobs, 3)
	for i, kind := range []string{"a", "b", "c"} {
		require.Equal(t, kind, b.getJob(bv.Jobs[i].ID).Kind)
		require.False(t, bv.Jobs[i].Duplicate)
	}
	require.Empty(t, r.header.Get("Location"))

	// Only duplicates: 200.
	r = b.do("POST", "/api/v1/jobs", `[{"kind":"c","unique_key":"u"}]`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r.decode(t, &bv)
	require.True(t, bv.Jobs[0].Duplicate)

	requireErr(t, b.do("POST", "/api/v1/jobs", `[]`), 400, server.CodeInvalidJob, "empty")
	requireErr(t, b.do("POST", "/api/v1/jobs", `[{"kind":"a"},{"kind":"b"},{"kind":"c"},{"kind":"d"}]`), 413, server.CodeTooLarge, "at most 3")
	// One bad job stores nothing, and the error names it.
	before := countJobs(t, b)
	requireErr(t, b.do("POST", "/api/v1/jobs", `[{"kind":"a"},{"kind":"bad kind"}]`), 400, server.CodeInvalidJob, "job 1")
	requireErr(t, b.do("POST", "/api/v1/jobs", `[{"kind":"a"},{"kind":"b","delay":"soon"}]`), 400, server.CodeInvalidJob, "job 1", "delay")
	require.Equal(t, before, countJobs(t, b))
}

// TestEnqueueDefaultArgsLimit checks the default configuration: args over
// conveyor.DefaultMaxArgsBytes are refused with 413 although the body is
// well under the default body limit, and args that just fit are stored.
func TestEnqueueDefaultArgsLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := `{"kind":"demo.echo","args":"` + strings.Repeat("x", conveyor.DefaultMaxArgsBytes) + `"}`
	requireErr(t, b.do("POST", "/api/v1/jobs", big), 413, server.CodeTooLarge, "args too large")
	require.Zero(t, countJobs(t, b))
	fits := `{"kind":"demo.echo","args":"` + strings.Repeat("x", conveyor.DefaultMaxArgsBytes-2) + `"}`
	b.enqueue(fits)
	require.Equal(t, 1, countJobs(t, b))
}

func countJobs(t *testing.T, b *bundle) int {
	t.Helper()
	res, err := b.client.List(t.Context(), &conveyor.ListParams{Limit: 1000})
	require.NoError(t, err)
	return len(res.Jobs)
}

func TestEnqueueBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOpts) {
		o.knownKinds = func(k string) bool { return strings.HasPrefix(k, "demo.") }
		o.maxBodyBytes = 4096
		o.maxArgsBytes = 100
	})
	tests := []struct {
		name     string
		body     string
		status   int
		code     string
		contains []string
	}{
		{"empty body", ``, 400, server.CodeInvalidJSON, []string{"empty"}},
		{"malformed", `{"kind": "demo.echo",, }`, 400, server.CodeInvalidJSON, []string{"byte offset 21"}},
		{"truncated", `{"kind": "demo.echo"`, 400, server.CodeInvalidJSON, []string{"byte offset"}},
		{"trailing data", `{"kind":"demo.echo"} {"kind":"demo.echo"}`, 400, server.CodeInvalidJSON, []string{"byte offset 21"}},
		{"unknown field", `{"kind":"demo.echo","prio":3}`, 400, server.CodeUnknownField, []string{`"prio"`}},
		{"wrong type", `{"kind":"demo.echo","priority":"high"}`, 400, server.CodeInvalidJSON, []string{`"priority"`, "number"}},
		{"not an object", `"demo.echo"`, 400, server.CodeInvalidJSON, nil},
		{"missing kind", `{"args":{}}`, 400, server.CodeInvalidJob, []string{"kind is empty"}},
		{"bad kind", `{"kind":"demo echo"}`, 400, server.CodeInvalidJob, []string{"kind"}},
		{"bad queue", `{"kind":"demo.echo","queue":"a b"}`, 400, server.CodeInvalidJob, []string{"queue"}},
		{"bad delay", `{"kind":"demo.echo","delay":"tomorrow"}`, 400, server.CodeInvalidJob, []string{`"delay"`}},
		{"bad timeout", `{"kind":"demo.echo","timeout":true}`, 400, server.CodeInvalidJob, []string{`"timeout"`}},
		{"huge delay", `{"kind":"demo.echo","delay":1e300}`, 400, server.CodeInvalidJob, []string{"out of range"}},
		{"negative delay", `{"kind":"demo.echo","delay":-5}`, 400, server.CodeInvalidJob, []string{"delay"}},
		{"delay and run_at", `{"kind":"demo.echo","delay":5,"run_at":"2030-01-01T00:00:00Z"}`, 400, server.CodeInvalidJob, []string{"not both"}},
		{"bad run_at", `{"kind":"demo.echo","run_at":"tomorrow"}`, 400, server.CodeInvalidJSON, nil},
		{"run_at beyond what backends store", `{"kind":"demo.echo","run_at":"2999-01-01T00:00:00Z"}`, 400, server.CodeInvalidJob, []string{"run_at", "out of range"}},
		{"run_at before 1970", `{"kind":"demo.echo","run_at":"1900-01-01T00:00:00Z"}`, 400, server.CodeInvalidJob, []string{"run_at"}},
		{"negative max_attempts", `{"kind":"demo.echo","max_attempts":-1}`, 400, server.CodeInvalidJob, []string{"max_attempts"}},
		{"bad unique state", `{"kind":"demo.echo","unique_key":"k","unique_states":["done"]}`, 400, server.CodeInvalidJob, []string{"done"}},
		{"unknown kind", `{"kind":"email.send"}`, 422, server.CodeUnknownKind, []string{`"email.send"`}},
		{"unknown kind in batch", `[{"kind":"demo.echo"},{"kind":"email.send"}]`, 422, server.CodeUnknownKind, []string{"job 1"}},
		{"args too large", `{"kind":"demo.echo","args":"` + strings.Repeat("x", 200) + `"}`, 413, server.CodeTooLarge, []string{"args too large"}},
		{"body too large", `{"kind":"demo.echo","args":"` + strings.Repeat("x", 5000) + `"}`, 413, server.CodeTooLarge, []string{"4096"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do("POST", "/api/v1/jobs", tc.body)
			requireErr(t, r, tc.status, tc.code, tc.contains...)
		})
	}
	require.Zero(t, countJobs(t, b), "no bad request may store a job")
	// A known kind goes through.
	b.enqueue(`{"kind":"demo.echo"}`)
}

func TestListJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, b.enqueue(map[string]any{"kind": fmt.Sprintf("k%d", i%2), "queue": fmt.Sprintf("q%d", i%3), "tags": []string{fmt.Sprintf("t%d", i)}}))
	}
	cancelled := b.do("POST", "/api/v1/jobs/"+ids[0]+"/cancel", nil)
	require.Equal(t, 200, cancelled.status)

	list := func(query string) server.JobListView {
		t.Helper()
		r := b.do("GET", "/api/v1/jobs"+query, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var v server.JobListView
		r.decode(t, &v)
		return v
	}
	idsOf := func(v server.JobListView) []string {
		var out []string
		for _, j := range v.Jobs {
			out = append(out, j.ID)
		}
		return out
	}
	require.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, idsOf(list("")), "newest first")
	require.Equal(t, []string{ids[4], ids[2]}, idsOf(list("?kind=k0&state=queued")))
	require.Equal(t, []string{ids[3], ids[0]}, idsOf(list("?queue=q0")))
	require.Equal(t, []string{ids[3]}, idsOf(list("?tag=t3")))
	require.Equal(t, []string{ids[0]}, idsOf(list("?state=cancelled")))
	require.Len(t, list("?state=cancelled,queued").Jobs, 5)
	require.Len(t, list("?state=cancelled&state=queued").Jobs, 5)
	require.Empty(t, list("?enqueued_after=2100-01-01T00:00:00Z").Jobs)

	// Pagination: 2 per page, stable, ends with an empty cursor.
	var got []string
	cursor := ""
	for range 10 {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := list(q)
		require.LessOrEqual(t, len(page.Jobs), 2)
		got = append(got, idsOf(page)...)
		cursor = page.NextCursor
		if cursor == "" {
			break
		}
	}
	require.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, got)

	requireErr(t, b.do("GET", "/api/v1/jobs?state=done", nil), 400, server.CodeBadRequest, `"done"`)
	requireErr(t, b.do("GET", "/api/v1/jobs?limit=0", nil), 400, server.CodeBadRequest, "limit")
	requireErr(t, b.do("GET", "/api/v1/jobs?limit=abc", nil), 400, server.CodeBadRequest, "limit")
	requireErr(t, b.do("GET", "/api/v1/jobs?limit=1001", nil), 400, server.CodeBadRequest, "limit")
	requireErr(t, b.do("GET", "/api/v1/jobs?sate=queued", nil), 400, server.CodeBadRequest, `"sate"`)
	requireErr(t, b.do("GET", "/api/v1/jobs?enqueued_after=yesterday", nil), 400, server.CodeBadRequest, "enqueued_after")
	requireErr(t, b.do("GET", "/api/v1/jobs?enqueued_before=2999-01-01T00:00:00Z", nil), 400, server.CodeBadRequest, "out of range")
}

func TestGetJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.report","args":{"n":1}}`)
	job := b.claim("default")
	require.Equal(t, id, job.ID)
	_, err := b.backend.LeaseExtend(t.Context(), &backend.LeaseExtendParams{
		Leases: []backend.Lease{{ID: id, LeaseToken: job.LeaseToken, Progress: json.RawMessage(`{"done":3,"total":10}`)}}, Duration: time.Minute, Now: time.Now(),
	})
	require.NoError(t, err)

	r := b.do("GET", "/api/v1/jobs/"+id, nil)
	require.Equal(t, 200, r.status)
	require.NotContains(t, string(r.body), job.LeaseToken, "the lease token is a worker's secret")
	var v server.JobView
	r.decode(t, &v)
	require.Equal(t, conveyor.StateRunning, v.State)
	require.Equal(t, 1, v.Attempt)
	require.NotNil(t, v.StartedAt)
	require.NotNil(t, v.DurationMS, "running jobs show their run time so far")
	require.Equal(t, "test-worker", v.LeaseOwner)
	require.JSONEq(t, `{"done":3,"total":10}`, string(v.Progress))

	// Finish with an error, then a retry outcome: errors per attempt, duration.
	_, err = b.backend.JobFinish(t.Context(), &backend.JobFinishParams{Now: time.Now(), Jobs: []*backend.JobOutcome{{
		ID: id, LeaseToken: job.LeaseToken, Outcome: backend.OutcomeFailed,
		Error: &backend.AttemptError{Attempt: 1, At: time.Now(), Message: "boom"},
	}}})
	require.NoError(t, err)
	v = b.getJob(id)
	require.Equal(t, conveyor.StateFailed, v.State)
	require.Len(t, v.Errors, 1)
	require.Equal(t, "boom", v.Errors[0].Message)
	require.NotNil(t, v.FinishedAt)
	require.NotEmpty(t, v.Duration)

	requireErr(t, b.do("GET", "/api/v1/jobs/0190a5c4-7b1e-7c3d-9b2a-1234567890ab", nil), 404, server.CodeNotFound)
	requireErr(t, b.do("GET", "/api/v1/jobs/not-a-uuid", nil), 404, server.CodeNotFound, "UUID")
}

func TestCancelJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.echo"}`)
	r := b.do("POST", "/api/v1/jobs/"+id+"/cancel", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	var v server.JobView
	r.decode(t, &v)
	require.Equal(t, conveyor.StateCancelled, v.State)
	requireErr(t, b.do("POST", "/api/v1/jobs/"+id+"/cancel", nil), 409, server.CodeWrongState)
	requireErr(t, b.do("POST", "/api/v1/jobs/0190a5c4-7b1e-7c3d-9b2a-1234567890ab/cancel", nil), 404, server.CodeNotFound)

	// A running job is asked to stop.
	id2 := b.enqueue(`{"kind":"demo.echo","queue":"run"}`)
	b.claim("run")
	r = b.do("POST", "/api/v1/jobs/"+id2+"/cancel", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	r.decode(t, &v)
	require.Equal(t, conveyor.StateRunning, v.State)
	require.True(t, v.CancelRequested)
}

func TestRetryJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.echo"}`)
	requireErr(t, b.do("POST", "/api/v1/jobs/"+id+"/retry", nil), 409, server.CodeWrongState)
	require.Equal(t, 200, b.do("POST", "/api/v1/jobs/"+id+"/cancel", nil).status)
	r := b.do("POST", "/api/v1/jobs/"+id+"/retry", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	var v server.JobView
	r.decode(t, &v)
	require.Equal(t, conveyor.StateQueued, v.State)
	requireErr(t, b.do("POST", "/api/v1/jobs/0190a5c4-7b1e-7c3d-9b2a-1234567890ab/retry", nil), 404, server.CodeNotFound)
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.echo"}`)
	r := b.do("DELETE", "/api/v1/jobs/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	require.Empty(t, r.body)
	requireErr(t, b.do("GET", "/api/v1/jobs/"+id, nil), 404, server.CodeNotFound)
	requireErr(t, b.do("DELETE", "/api/v1/jobs/"+id, nil), 404, server.CodeNotFound)

	running := b.enqueue(`{"kind":"demo.echo","queue":"run"}`)
	b.claim("run")
	requireErr(t, b.do("DELETE", "/api/v1/jobs/"+running, nil), 409, server.CodeWrongState)
}

func TestQueues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.enqueue(`{"kind":"demo.echo","queue":"mail"}`)
	b.enqueue(`{"kind":"demo.echo","queue":"mail"}`)
	b.enqueue(`{"kind":"demo.echo","queue":"mail","delay":"1h"}`)

	list := func() map[string]server.QueueView {
		t.Helper()
		r := b.do("GET", "/api/v1/queues", nil)
		require.Equal(t, 200, r.status, "body: %s", r.body)
		var v server.QueueListView
		r.decode(t, &v)
		out := map[string]server.QueueView{}
		for _, q := range v.Queues {
			out[q.Name] = q
		}
		return out
	}
	q := list()["mail"]
	require.Equal(t, int64(2), q.Counts[conveyor.StateQueued])
	require.Equal(t, int64(1), q.Counts[conveyor.StateScheduled])
	require.Equal(t, int64(0), q.Counts[conveyor.StateFailed])
	require.Len(t, q.Counts, 7)
	require.NotNil(t, q.OldestQueuedAt)
	require.False(t, q.Paused)

	r := b.do("POST", "/api/v1/queues/mail/pause", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	require.JSONEq(t, `{"name":"mail","paused":true}`, string(r.body))
	require.True(t, list()["mail"].Paused)
	// Pausing an unknown queue creates it (so a deploy can pause before enqueueing).
	require.Equal(t, 200, b.do("POST", "/api/v1/queues/later/pause", nil).status)
	require.True(t, list()["later"].Paused)

	r = b.do("POST", "/api/v1/queues/mail/resume", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	require.JSONEq(t, `{"name":"mail","paused":false}`, string(r.body))
	require.False(t, list()["mail"].Paused)

	requireErr(t, b.do("POST", "/api/v1/queues/a%20b/pause", nil), 400, server.CodeBadRequest, "queue")
	requireErr(t, b.do("POST", "/api/v1/queues/a%20b/resume", nil), 400, server.CodeBadRequest, "queue")
}
