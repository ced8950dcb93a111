package backendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// clientChildEnv names the env var that turns a test process into the
// worker child of KillWorker; its value is the backend URL.
const clientChildEnv = "CONVEYOR_CLIENTTEST_CHILD_URL"

// Settings of KillWorker (RELIABILITY.md fault test 1).
const (
	killJobs        = 20
	killConcurrency = 5
	killKind        = "test.sleep"
	killLease       = 2 * time.Second
)

func testClientFault(t *testing.T, f ClientFactory) {
	t.Run("KillWorker", func(t *testing.T) {
		if url := os.Getenv(clientChildEnv); url != "" {
			runKillChild(t, url)
			return
		}
		testKillWorker(t, f)
	})
}

// testKillWorker: a worker in a child process runs jobs whose handler
// sleeps; it is SIGKILLed while they run. A new worker with the rescuer
// completes every job; the killed ones end at attempt 2 (the lost attempt
// stays counted), the others at attempt 1.
func testKillWorker(t *testing.T, f ClientFactory) {
	e := clientSetup(t, f)
	if e.url == "" {
		t.Skipf("skipping: the %s backend cannot be opened from another process (no URL); this fault needs a shared store", e.b.Capabilities().Name)
	}
	reqs := make([]conveyor.EnqueueRequest, killJobs)
	for i := range reqs {
		reqs[i] = conveyor.EnqueueRequest{Kind: killKind, Args: map[string]int{"i": i}}
	}
	res, err := e.client.EnqueueMany(e.ctx, reqs)
	require.NoError(t, err)

	var out lockedBuffer
	cmd := exec.Command(os.Args[0], "-test.run="+testRunPattern(t.Name()), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), clientChildEnv+"="+e.url)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	// Wait until the child runs as many jobs as it has slots.
	var running []string
	ok := assertEventually(func() bool {
		r, err := e.client.List(e.ctx, &conveyor.ListParams{States: []conveyor.JobState{conveyor.StateRunning}})
		if err != nil {
			return false
		}
		running = running[:0]
		for _, j := range r.Jobs {
			running = append(running, j.ID)
		}
		return len(running) == killConcurrency
	})
	if !ok {
		t.Fatalf("the child worker never ran %d jobs; its output:\n%s", killConcurrency, out.String())
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL
	_ = cmd.Wait()
	waited = true
	killed := map[string]bool{}
	for _, id := range running {
		killed[id] = true
	}

	// A new worker (with the rescuer) in this process finishes the work.
	require.NoError(t, e.ws.Handle(killKind, conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
		return json.RawMessage(`"ok"`), nil
	}), nil))
	e.startWorker(func(c *conveyor.WorkerConfig) { c.RescueInterval = 100 * time.Millisecond })
	e.eventually(killLease+clientWait, func() bool { return e.countState(conveyor.StateCompleted) == killJobs },
		"every job completed after the kill")
	for _, r := range res {
		j := e.get(r.ID)
		require.Equal(t, conveyor.StateCompleted, j.State)
		if killed[r.ID] {
			require.Equal(t, 2, j.Attempt, "job %s ran when the worker was killed", r.ID)
			require.Len(t, j.Errors, 1, "the lost attempt is recorded")
		} else {
			require.Equal(t, 1, j.Attempt, "job %s never ran in the killed worker", r.ID)
		}
	}
}

// runKillChild is the child process's side: a worker whose handler sleeps
// until killed, with a short lease so the parent's rescuer acts quickly.
func runKillChild(t *testing.T, url string) {
	ctx := context.Background()
	b, err := backend.Open(ctx, url)
	require.NoError(t, err)
	ws := conveyor.NewWorkers()
	require.NoError(t, ws.Handle(killKind, conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Minute):
			return json.RawMessage(`"should have been killed"`), nil
		}
	}), nil))
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{
		Queues:             map[string]int{clientQueue: killConcurrency},
		LeaseDuration:      killLease,
		HeartbeatInterval:  killLease / 4,
		PollInterval:       clientPoll,
		DisableMaintenance: true,
		Logger:             clientLogger(),
	})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Log("child worker running; waiting to be killed")
	// The parent kills this process; if it does not within a minute
	// (parent gone), give up.
	time.Sleep(time.Minute)
	t.Fatal("child worker was not killed")
}

// testRunPattern turns a test name ("TestX/Client/Fault/KillWorker") into a
// -test.run pattern matching exactly that test.
func testRunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// assertEventually polls cond like require.Eventually but reports instead
// of failing, so the caller can add context to the failure.
func assertEventually(cond func() bool) bool {
	deadline := time.Now().Add(clientWait)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(clientTick)
	}
	return false
}

// lockedBuffer collects a child's output from two writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
