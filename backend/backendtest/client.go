package backendtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// ClientFactory returns a fresh, migrated, isolated backend like Factory,
// plus a URL that opens the SAME store from another process through
// backend.Open ("" when impossible, as for memory: the tests that need a
// second process are then skipped for that reason only).
type ClientFactory func(t *testing.T) (b backend.Backend, url string)

// RunClient runs the client-level end-to-end suite: a Client enqueues, a
// Worker runs the handlers, and the stored jobs are checked (results,
// retries, timeouts, cancellation, panics, bad args, snoozes, graceful
// shutdown, hooks, middleware, and a worker process killed with SIGKILL).
// Subtests are named like "Run/Result".
func RunClient(t *testing.T, newBackend ClientFactory) {
	t.Helper()
	areas := []struct {
		name string
		run  func(t *testing.T, f ClientFactory)
	}{
		{"Run", testClientRun},
		{"Errors", testClientErrors},
		{"Cancel", testClientCancel},
		{"Shutdown", testClientShutdown},
		{"Hooks", testClientHooks},
		{"Fault", testClientFault},
		{"Schedule", testClientSchedule},
	}
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) { a.run(t, newBackend) })
	}
}

// Settings of the workers the client suite runs: short leases and polls so
// that every wait is short, and generous deadlines for the conditions.
const (
	clientLease     = 2 * time.Second
	clientHeartbeat = 100 * time.Millisecond
	clientPoll      = 20 * time.Millisecond
	clientWait      = 20 * time.Second // deadline of every Eventually
	clientTick      = 10 * time.Millisecond
	clientQueue     = "default"
)

// clientEnv bundles one client test's backend, client and registry.
type clientEnv struct {
	t      *testing.T
	b      backend.Backend
	url    string
	client *conveyor.Client
	ws     *conveyor.Workers
	ctx    context.Context
}

// clientSetup marks the test parallel and builds a client over a fresh backend.
func clientSetup(t *testing.T, f ClientFactory) *clientEnv {
	t.Helper()
	t.Parallel()
	b, url := f(t)
	require.NotNil(t, b, "factory returned a nil backend")
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	return &clientEnv{t: t, b: b, url: url, client: c, ws: conveyor.NewWorkers(), ctx: t.Context()}
}

// clientLogger discards the runtime's logs unless CONVEYOR_TEST_LOG is set
// (then they go to stderr): handlers abandoned at shutdown may log after
// their test ended, which t.Log forbids.
func clientLogger() *slog.Logger {
	if os.Getenv("CONVEYOR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// workerConfig returns the suite's worker settings with mod applied.
func clientWorkerConfig(mod func(*conveyor.WorkerConfig)) conveyor.WorkerConfig {
	cfg := conveyor.WorkerConfig{
		Queues:            map[string]int{clientQueue: 4},
		LeaseDuration:     clientLease,
		HeartbeatInterval: clientHeartbeat,
		PollInterval:      clientPoll,
		ShutdownGrace:     5 * time.Second,
		ShutdownHardStop:  time.Second,
		RescueInterval:    100 * time.Millisecond,
		PromoteInterval:   20 * time.Millisecond,
		Logger:            clientLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// startWorker starts a worker over the env's registry; it is stopped at
// cleanup (before the backend is closed).
func (e *clientEnv) startWorker(mod func(*conveyor.WorkerConfig)) *conveyor.Worker {
	e.t.Helper()
	w, err := conveyor.NewWorker(e.b, e.ws, clientWorkerConfig(mod))
	require.NoError(e.t, err)
	require.NoError(e.t, w.Start(e.ctx))
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	return w
}

// enqueue stores one job and returns its id.
func (e *clientEnv) enqueue(kind string, args any, opts *conveyor.EnqueueOptions) string {
	e.t.Helper()
	res, err := e.client.Enqueue(e.ctx, kind, args, opts)
	require.NoError(e.t, err)
	require.False(e.t, res.Duplicate)
	return res.ID
}

// get returns the stored job.
func (e *clientEnv) get(id string) *conveyor.JobRecord {
	e.t.Helper()
	j, err := e.client.Get(e.ctx, id)
	require.NoError(e.t, err)
	return j
}

// waitState polls until job id is in state and returns it.
func (e *clientEnv) waitState(id string, state conveyor.JobState) *conveyor.JobRecord {
	e.t.Helper()
	var last *conveyor.JobRecord
	e.eventually(clientWait, func() bool {
		last = e.get(id)
		return last.State == state
	}, "job %s never reached state %s", id, state)
	return last
}

// eventually polls cond every clientTick until it holds, failing the test
// after timeout. Unlike require.Eventually it calls cond in the test's own
// goroutine, so cond may use require and never outlives the test.
func (e *clientEnv) eventually(timeout time.Duration, cond func() bool, format string, args ...any) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("condition not met within %s: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(clientTick)
	}
}

// never polls cond for d and fails the test if it ever holds.
func (e *clientEnv) never(d time.Duration, cond func() bool, format string, args ...any) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			e.t.Fatalf("condition unexpectedly met: "+format, args...)
		}
		time.Sleep(clientTick)
	}
}

// countState returns how many jobs are in state.
func (e *clientEnv) countState(state conveyor.JobState) int {
	e.t.Helper()
	n, cursor := 0, ""
	for {
		res, err := e.client.List(e.ctx, &conveyor.ListParams{States: []conveyor.JobState{state}, Cursor: cursor, Limit: 1000})
		require.NoError(e.t, err)
		n += len(res.Jobs)
		if res.NextCursor == "" {
			return n
		}
		cursor = res.NextCursor
	}
}

// signalOnce returns a channel and a func closing it that may be called
// many times.
func signalOnce() (chan struct{}, func()) {
	ch := make(chan struct{})
	return ch, sync.OnceFunc(func() { close(ch) })
}

// waitClosed fails the test unless ch closes within clientWait.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(clientWait):
		t.Fatalf("timed out waiting for %s", what)
	}
}
