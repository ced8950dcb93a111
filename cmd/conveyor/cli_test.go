package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/sqlite"
	"conveyor/server"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is what one CLI invocation printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command line in-process.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := run(t.Context(), args, &out, &errb)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (r result) ok(t *testing.T) string {
	t.Helper()
	require.Zero(t, r.code, "stderr: %s", r.stderr)
	return r.stdout
}

// failed checks the exit code and that the error is exactly one line.
func (r result) failed(t *testing.T, code int, contains ...string) {
	t.Helper()
	require.Equal(t, code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	require.True(t, strings.HasPrefix(r.stderr, "conveyor: "), r.stderr)
	for _, s := range contains {
		require.Contains(t, r.stderr, s)
	}
}

// setup returns the URL of a fresh, migrated SQLite file.
func setup(t *testing.T) string {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "conveyor.db")
	cli(t, "migrate", "--backend", url).ok(t)
	return url
}

func TestJobCommandsDirect(t *testing.T) {
	t.Parallel()
	db := setup(t)

	id := strings.TrimSpace(cli(t, "enqueue", "demo.echo", "--args", `{"x":1}`, "--queue", "q1", "--priority", "3",
		"--max-attempts", "4", "--timeout", "90", "--tag", "a", "--tag", "b", "--meta", `{"m":1}`, "--backend", db).ok(t))
	require.Regexp(t, `^[0-9a-f-]{36}$`, id)

	var job server.JobView
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "status", id, "--json", "--backend", db).ok(t)), &job))
	require.Equal(t, "q1", job.Queue)
	require.Equal(t, 3, job.Priority)
	require.Equal(t, 4, job.MaxAttempts)
	require.Equal(t, "1m30s", job.Timeout)
	require.Equal(t, []string{"a", "b"}, job.Tags)
	require.JSONEq(t, `{"x":1}`, string(job.Args))

	human := cli(t, "job", "status", id, "--backend", db).ok(t)
	require.Contains(t, human, "state:")
	require.Contains(t, human, "queued")

	// Unique key: the second enqueue names the first job.
	u1 := cli(t, "enqueue", "demo.echo", "--unique-key", "k", "--json", "--backend", db).ok(t)
	u2 := cli(t, "enqueue", "demo.echo", "--unique-key", "k", "--json", "--backend", db).ok(t)
	u3 := cli(t, "enqueue", "demo.echo", "--unique-key", "k", "--backend", db)
	var e1, e2 server.EnqueueView
	require.NoError(t, json.Unmarshal([]byte(u1), &e1))
	require.NoError(t, json.Unmarshal([]byte(u2), &e2))
	require.True(t, e2.Duplicate)
	require.Equal(t, e1.ID, e2.ID)
	require.Equal(t, e1.ID, strings.TrimSpace(u3.ok(t)))
	require.Contains(t, u3.stderr, "already holds unique key")

	// Delayed jobs are scheduled.
	delayed := strings.TrimSpace(cli(t, "enqueue", "demo.sleep", "--args", `{"ms":1}`, "--delay", "1h", "--backend", db).ok(t))
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "status", delayed, "--json", "--backend", db).ok(t)), &job))
	require.Equal(t, conveyor.StateScheduled, job.State)

	// list: table, filters, JSON, paging.
	table := cli(t, "job", "list", "--backend", db).ok(t)
	require.Contains(t, table, "KIND")
	require.Contains(t, table, id)
	var list server.JobListView
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "list", "--queue", "q1", "--json", "--backend", db).ok(t)), &list))
	require.Len(t, list.Jobs, 1)
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "list", "--state", "scheduled,queued", "--limit", "1", "--json", "--backend", db).ok(t)), &list))
	require.Len(t, list.Jobs, 1)
	require.NotEmpty(t, list.NextCursor)
	page := cli(t, "job", "list", "--limit", "1", "--backend", db)
	require.Contains(t, page.ok(t), "ID")
	require.Contains(t, page.stderr, "--cursor")

	// cancel, then cancel again (conflict), retry, delete.
	require.Contains(t, cli(t, "job", "cancel", id, "--backend", db).ok(t), "cancelled")
	cli(t, "job", "cancel", id, "--backend", db).failed(t, exitConflict, "state")
	require.Contains(t, cli(t, "job", "retry", id, "--backend", db).ok(t), "queued")
	cli(t, "job", "retry", id, "--backend", db).failed(t, exitConflict)
	require.Contains(t, cli(t, "job", "delete", id, "--backend", db).ok(t), "deleted")
	cli(t, "job", "status", id, "--backend", db).failed(t, exitNotFound, "not found")
	cli(t, "job", "status", "nope", "--backend", db).failed(t, exitNotFound, "UUID")
	cli(t, "job", "delete", id, "--backend", db).failed(t, exitNotFound)

	// Queues.
	require.Contains(t, cli(t, "queue", "pause", "q1", "--backend", db).ok(t), "paused")
	qs := cli(t, "queue", "list", "--backend", db).ok(t)
	require.Regexp(t, regexp.MustCompile(`(?m)^q1\s+yes`), qs)
	require.Contains(t, cli(t, "queue", "resume", "q1", "--backend", db).ok(t), "resumed")
	var ql server.QueueListView
	require.NoError(t, json.Unmarshal([]byte(cli(t, "queue", "list", "--json", "--backend", db).ok(t)), &ql))
	require.NotEmpty(t, ql.Queues)
	cli(t, "queue", "pause", "bad name", "--backend", db).failed(t, exitUsage, "queue")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	db := setup(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"bad webhook-allow", []string{"worker", "--demo", "--webhook-allow", "10.0.0.0/99", "--backend", db}, exitUsage, "--webhook-allow"},
		{"unknown flag", []string{"job", "list", "--frob", "--backend", db}, exitUsage, "--frob"},
		{"missing kind", []string{"enqueue", "--backend", db}, exitUsage, "arg"},
		{"bad args JSON", []string{"enqueue", "x", "--args", "{", "--backend", db}, exitUsage, "--args"},
		{"bad meta JSON", []string{"enqueue", "x", "--meta", "[", "--backend", db}, exitUsage, "--meta"},
		{"bad kind", []string{"enqueue", "a b", "--backend", db}, exitUsage, "kind"},
		{"bad delay", []string{"enqueue", "x", "--delay", "soon", "--backend", db}, exitUsage, "delay"},
		{"bad max attempts", []string{"enqueue", "x", "--max-attempts", "0", "--backend", db}, exitUsage, "max-attempts"},
		{"args too large", []string{"enqueue", "x", "--args", `"` + strings.Repeat("x", 1<<20) + `"`, "--backend", db}, exitUsage, "too large"},
		{"bad state", []string{"job", "list", "--state", "done", "--backend", db}, exitUsage, "done"},
		{"bad limit", []string{"job", "list", "--limit", "0", "--backend", db}, exitUsage, "limit"},
		{"server and backend", []string{"job", "list", "--backend", db, "--server", "http://127.0.0.1:1"}, exitUsage, "not both"},
		{"bad server URL", []string{"job", "list", "--server", "ftp://x"}, exitUsage, "http"},
		{"server URL that does not parse", []string{"job", "list", "--server", "http://127.0.0.1:notaport"}, exitUsage, "invalid port"},
		{"worker without kinds", []string{"worker", "--backend", db}, exitUsage, "--demo"},
		{"bad queues", []string{"worker", "--demo", "--queues", "a=0", "--backend", db}, exitUsage, "concurrency"},
		{"server without tokens", []string{"server", "--addr", "127.0.0.1:0", "--backend", db}, exitUsage, "CONVEYOR_TOKENS"},
		{"dev on a public address without tokens", []string{"dev", "--addr", "0.0.0.0:0", "--backend", db}, exitUsage, "loopback"},
		{"bad log level", []string{"dev", "--log-level", "loud", "--backend", db}, exitUsage, "log-level"},
		{"run unknown kind", []string{"job", "run", "email.send"}, exitUsage, "demo.echo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cli(t, tc.args...).failed(t, tc.code, tc.contains)
		})
	}
}

func TestBackendErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.db")
	cli(t, "job", "list", "--backend", "sqlite:"+missing).failed(t, exitUnavailable, missing, "does not exist")
	_, err := os.Stat(missing)
	require.True(t, os.IsNotExist(err), "reading commands do not create the database")

	cli(t, "job", "list", "--backend", "nosuch://x").failed(t, exitUnavailable, "unknown scheme")
	cli(t, "job", "list", "--backend", "no-scheme").failed(t, exitUnavailable, "scheme")

	// Unreachable PostgreSQL: one line, names the URL, hides the password.
	r := cli(t, "job", "list", "--backend", "postgres://alice:hunter2@127.0.0.1:1/db?connect_timeout=2")
	r.failed(t, exitUnavailable, "127.0.0.1:1", "alice")
	require.NotContains(t, r.stderr, "hunter2")

	cli(t, "job", "list", "--server", "http://127.0.0.1:1").failed(t, exitUnavailable, "not reachable")

	// A URL that does not parse cannot be redacted by backend.Redact, and
	// parse errors quote it whole: the password must still not be shown.
	for _, u := range []string{"redis://:hunter2@127.0.0.1:notaport/0", "postgres://alice:hunter2@127.0.0.1:notaport/db", "nats://bob:hunter2@[::1"} {
		r := cli(t, "job", "list", "--backend", u)
		r.failed(t, exitUnavailable, "does not parse", "xxxxx@")
		require.NotContains(t, r.stderr, "hunter2")
	}
	r = cli(t, "job", "list", "--server", "http://u:hunter2@127.0.0.1:notaport")
	r.failed(t, exitUsage, "does not parse", "xxxxx@")
	require.NotContains(t, r.stderr, "hunter2")
}

// TestJobStatusWait covers `job status --wait`: it gives up after
// --timeout while no worker runs the job, and a job that ends other than
// completed makes it exit non-zero.
func TestJobStatusWait(t *testing.T) {
	t.Parallel()
	db := setup(t)
	id := strings.TrimSpace(cli(t, "enqueue", "demo.echo", "--backend", db).ok(t))

	r := cli(t, "job", "status", id, "--wait", "--timeout", "300ms", "--backend", db)
	require.Equal(t, exitError, r.code, "stderr: %s", r.stderr)
	require.Contains(t, r.stderr, "queued attempt 0/", "each state change is printed")
	require.Contains(t, r.stderr, "conveyor: job "+id+" still queued after 300ms")
	require.Empty(t, r.stdout, "nothing on stdout when giving up")

	cli(t, "job", "cancel", id, "--backend", db).ok(t)
	r = cli(t, "job", "status", id, "--wait", "--backend", db)
	require.Equal(t, exitError, r.code, "stderr: %s", r.stderr)
	require.Contains(t, r.stderr, "ended cancelled")
	require.Contains(t, r.stdout, id, "the final job is printed")
}

func TestJobRun(t *testing.T) {
	t.Parallel()
	require.JSONEq(t, `{"hello":"world"}`, cli(t, "job", "run", "demo.echo", "--args", `{"hello":"world"}`).ok(t))
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "run", "demo.report", "--args", `{"steps":2,"step_ms":1}`, "--json").ok(t)), &out))
	require.JSONEq(t, `{"steps":2}`, string(out.Result))
	cli(t, "job", "run", "demo.fail", "--args", `{"times":1}`).failed(t, exitError, "on purpose")
}

func TestParseQueues(t *testing.T) {
	t.Parallel()
	q, err := parseQueues("a=10, b=5,c")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"a": 10, "b": 5, "c": 10}, q)
	for _, bad := range []string{"", "a=x", "a=-1", "a=1,a=2", "bad name=1"} {
		_, err := parseQueues(bad)
		require.Error(t, err, bad)
	}
}

// TestThroughServer runs the job commands against a server with auth: the
// admin token may do everything, the read token only look, and no token
// nothing. It sets CONVEYOR_TOKEN, so it does not run in parallel.
// testServer serves the API on a fresh SQLite file with an admin token
// "adm" and a read token "rd"; only demo.* kinds are accepted.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "c.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	srv, err := server.New(server.Config{Client: c, Tokens: []server.Token{{Value: "adm", Scope: server.ScopeAdmin}, {Value: "rd", Scope: server.ScopeRead}},
		KnownKinds: func(k string) bool { return strings.HasPrefix(k, "demo.") }})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func TestThroughServer(t *testing.T) {
	hs := testServer(t)

	t.Setenv(envToken, "adm")
	id := strings.TrimSpace(cli(t, "enqueue", "demo.echo", "--args", `{"a":1}`, "--server", hs.URL).ok(t))
	var job server.JobView
	require.NoError(t, json.Unmarshal([]byte(cli(t, "job", "status", id, "--json", "--server", hs.URL).ok(t)), &job))
	require.Equal(t, conveyor.StateQueued, job.State)
	require.Contains(t, cli(t, "job", "list", "--server", hs.URL).ok(t), id)
	require.Contains(t, cli(t, "job", "cancel", id, "--server", hs.URL).ok(t), "cancelled")
	cli(t, "job", "cancel", id, "--server", hs.URL).failed(t, exitConflict, "wrong_state")
	require.Contains(t, cli(t, "job", "retry", id, "--server", hs.URL).ok(t), "queued")
	cli(t, "job", "status", "0190a5c4-7b1e-7c3d-9b2a-1234567890ab", "--server", hs.URL).failed(t, exitNotFound)
	cli(t, "enqueue", "email.send", "--server", hs.URL).failed(t, exitUsage, "unknown_kind")
	// Args over the default 1 MiB are refused through the API as directly.
	big := `"` + strings.Repeat("x", conveyor.DefaultMaxArgsBytes) + `"`
	cli(t, "enqueue", "demo.echo", "--args", big, "--server", hs.URL).failed(t, exitUsage, "too large")
	require.Contains(t, cli(t, "queue", "pause", "default", "--server", hs.URL).ok(t), "paused")
	require.Contains(t, cli(t, "queue", "list", "--server", hs.URL).ok(t), "default")
	require.Contains(t, cli(t, "queue", "resume", "default", "--server", hs.URL).ok(t), "resumed")

	t.Setenv(envToken, "rd")
	require.Contains(t, cli(t, "job", "list", "--server", hs.URL).ok(t), id)
	cli(t, "job", "cancel", id, "--server", hs.URL).failed(t, exitUnauthorized, "read")
	cli(t, "enqueue", "demo.echo", "--server", hs.URL).failed(t, exitUnauthorized)

	t.Setenv(envToken, "")
	cli(t, "job", "list", "--server", hs.URL).failed(t, exitUnauthorized, "token")

	// $CONVEYOR_SERVER is used when no --backend is given; --backend wins over it.
	t.Setenv(envToken, "adm")
	t.Setenv(envServer, hs.URL)
	require.Contains(t, cli(t, "job", "list").ok(t), id)
	other := setup(t)
	require.NotContains(t, cli(t, "job", "list", "--backend", other).ok(t), id)
}

// TestServerCommand runs `conveyor server --worker --demo` in-process with a
// tokens file and stops it through its context, as Ctrl-C would.
func TestServerCommand(t *testing.T) {
	t.Parallel()
	db := setup(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("# test\nsekret:admin\n"), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"server", "--addr", "127.0.0.1:0", "--tokens-file", tokens, "--worker", "--demo", "--reject-unknown-kinds", "--backend", db, "--queues", "default=2"}, out, errb)
	}()
	apiRe := regexp.MustCompile(`API\s+(http://127\.0\.0\.1:\d+)/api/v1`)
	var base string
	ok := assert.Eventually(t, func() bool {
		if m := apiRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		return base != ""
	}, 30*time.Second, 10*time.Millisecond)
	require.True(t, ok, "stderr: %s\nstdout: %s", errb.String(), out.String())
	require.Contains(t, out.String(), "Bearer $CONVEYOR_TOKEN")

	h, err := newHTTPOps(base, "sekret")
	require.NoError(t, err)
	ev, err := h.Enqueue(t.Context(), []byte(`{"kind":"demo.echo","args":{"v":7}}`))
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		j, err := h.Get(t.Context(), ev.ID)
		require.NoError(ct, err)
		require.Equal(ct, conveyor.StateCompleted, j.State)
	}, 30*time.Second, 20*time.Millisecond)
	_, err = h.Enqueue(t.Context(), []byte(`{"kind":"email.send"}`))
	require.ErrorContains(t, err, "unknown_kind")

	cancel()
	select {
	case code := <-done:
		require.Zero(t, code, "stderr: %s", errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	require.Contains(t, errb.String(), "stopped")
}

// TestWorkerCommand runs `conveyor worker --demo --health-addr` in-process:
// it works jobs enqueued by another process and serves health and metrics.
func TestWorkerCommand(t *testing.T) {
	t.Parallel()
	db := setup(t)
	id := strings.TrimSpace(cli(t, "enqueue", "demo.echo", "--args", `{"w":1}`, "--queue", "work", "--backend", db).ok(t))

	ctx, cancel := context.WithCancel(t.Context())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"worker", "--demo", "--queues", "work=3", "--health-addr", "127.0.0.1:0", "--backend", db}, out, errb)
	}()
	var health string
	addrRe := regexp.MustCompile(`health endpoints up" addr=(127\.0\.0\.1:\d+)`)
	ok := assert.Eventually(t, func() bool {
		if m := addrRe.FindStringSubmatch(errb.String()); m != nil {
			health = m[1]
		}
		return health != ""
	}, 30*time.Second, 10*time.Millisecond)
	require.True(t, ok, "stderr: %s\nstdout: %s", errb.String(), out.String())

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		r := cli(t, "job", "status", id, "--json", "--backend", db)
		require.Zero(ct, r.code, "stderr: %s", r.stderr)
		var j server.JobView
		require.NoError(ct, json.Unmarshal([]byte(r.stdout), &j))
		require.Equal(ct, conveyor.StateCompleted, j.State)
	}, 30*time.Second, 20*time.Millisecond)

	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"sqlite"`, "/metrics": "conveyor_worker_slots"} {
		res, err := http.Get("http://" + health + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, 200, res.StatusCode, path)
		require.Contains(t, string(body), want, path)
	}
	require.Contains(t, out.String(), "queues work=3")

	cancel()
	select {
	case code := <-done:
		require.Zero(t, code, "stderr: %s", errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop")
	}
}
