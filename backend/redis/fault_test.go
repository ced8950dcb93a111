package redis

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

// Fault tests from RELIABILITY.md at port level. Tests that restart or cut
// off a server use a private redis-server on a free loopback port.

// privateRedis is a redis-server process owned by one test.
type privateRedis struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

// startPrivateRedis starts redis-server with AOF (appendfsync always) in a
// temp dir; it is killed when the test ends.
func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server binary not installed: %v", err)
	}
	r := &privateRedis{t: t, dir: t.TempDir(), port: backendtest.FreePort(t)}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", "redis.log")
	require.NoError(r.t, r.cmd.Start())
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer c.Close()
	require.Eventually(r.t, func() bool {
		return c.Ping(context.Background()).Err() == nil
	}, 20*time.Second, 10*time.Millisecond, "private redis-server did not come up")
}

// kill stops the server with SIGKILL (no shutdown save; AOF fsynced on every
// write keeps acknowledged writes).
func (r *privateRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *privateRedis) restart() {
	r.kill()
	r.start()
}

// Fault 2: a handler blocks past its lease with heartbeats stopped; the job
// is rescued and run elsewhere; the old worker's completion and heartbeat are
// rejected; the job ends in one final state.
func TestFaultLeaseExpiredFenced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	id := enqueue(t, b, t0, insert("q"))[0].ID
	old := claim(t, b, "q", 1, t0, time.Second)[0]

	resc, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: t0.Add(2 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, []backend.RescuedJob{{ID: id, Kind: "k", Queue: "q", State: backend.StateQueued}}, resc.Jobs)
	fresh := claim(t, b, "q", 1, t0.Add(2*time.Second), 30*time.Second)[0]
	require.Equal(t, 2, fresh.Attempt)
	require.NotEqual(t, old.LeaseToken, fresh.LeaseToken)

	ext, err := b.LeaseExtend(ctx, &backend.LeaseExtendParams{Leases: []backend.Lease{{ID: id, LeaseToken: old.LeaseToken}},
		Duration: time.Minute, Now: t0.Add(3 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, []string{id}, ext.Lost, "the old worker's heartbeat is rejected (its context gets cancelled)")
	fin, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
		{ID: id, LeaseToken: old.LeaseToken, Outcome: backend.OutcomeFailed, Error: &backend.AttemptError{Attempt: 1, Message: "late"}},
	}, Now: t0.Add(3 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, []string{id}, fin.LeaseLost)

	fin, err = b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
		{ID: id, LeaseToken: fresh.LeaseToken, Outcome: backend.OutcomeCompleted},
	}, Now: t0.Add(4 * time.Second)})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	j, err := b.JobGet(ctx, &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Len(t, j.Errors, 1, "only the rescue is recorded")
	require.Equal(t, 1, j.Errors[0].Attempt)
}

// Fault 3: the rescuer and the completer race on expired leases. Every job
// ends either completed with no rescue recorded (the completion won) or
// rescued with its completion rejected.
func TestFaultRescueCompleteRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	const n = 300
	jobs := make([]*backend.JobInsert, n)
	for i := range jobs {
		jobs[i] = insert("race")
	}
	enqueue(t, b, t0, jobs...)
	claimed := claim(t, b, "race", n, t0, time.Second)
	require.Len(t, claimed, n)
	later := t0.Add(5 * time.Second)

	lost := map[string]bool{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range claimed { // one outcome per call, so the two interleave finely
			res, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
				{ID: claimed[i].ID, LeaseToken: claimed[i].LeaseToken, Outcome: backend.OutcomeCompleted},
			}, Now: later})
			if err != nil {
				t.Error(err)
				return
			}
			for _, id := range res.LeaseLost {
				lost[id] = true
			}
		}
	}()
	rescued := map[string]bool{}
	go func() {
		defer wg.Done()
		for range 50 {
			res, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: later, Limit: 7})
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range res.Jobs {
				if rescued[r.ID] {
					t.Errorf("job %s rescued twice", r.ID)
				}
				rescued[r.ID] = true
			}
		}
	}()
	wg.Wait()
	require.Positive(t, len(rescued), "the race happened (some rescues)")
	for _, c := range claimed {
		j, err := b.JobGet(ctx, &backend.JobGetParams{ID: c.ID})
		require.NoError(t, err)
		if rescued[c.ID] {
			require.True(t, lost[c.ID], "rescued job's completion must be rejected")
			require.Equal(t, backend.StateQueued, j.State)
			require.Len(t, j.Errors, 1)
		} else {
			require.False(t, lost[c.ID])
			require.Equal(t, backend.StateCompleted, j.State)
			require.Empty(t, j.Errors, "no rescue recorded on a completed job")
		}
	}
}

// Fault 4: 1k queued and 50 running on a private server with AOF; the server
// is killed and restarted mid-run while a producer keeps enqueuing. No
// acknowledged enqueue is lost, the client reconnects by itself and the
// in-flight jobs finish (their leases survive) or are rescued.
func TestFaultServerRestart(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	b, _ := openAt(t, srv.url())
	ctx := t.Context()

	var acked []string
	batch := make([]*backend.JobInsert, 1000)
	for i := range batch {
		batch[i] = insert("q")
		acked = append(acked, batch[i].ID)
	}
	enqueue(t, b, t0, batch...)
	running := claim(t, b, "q", 50, t0, 30*time.Second)
	require.Len(t, running, 50)
	watch, err := b.QueueWatch(ctx, &backend.QueueWatchParams{Queues: []string{"w"}})
	require.NoError(t, err)

	var mu sync.Mutex
	var failures, afterRestart atomic.Int64
	var restarted atomic.Bool
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			j := insert("q")
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := b.JobEnqueue(cctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{j}, Now: t0})
			cancel()
			if err != nil {
				failures.Add(1)
				continue
			}
			mu.Lock()
			acked = append(acked, j.ID)
			mu.Unlock()
			if restarted.Load() {
				afterRestart.Add(1)
			}
		}
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 1100 },
		20*time.Second, time.Millisecond, "producer running")
	srv.restart()
	restarted.Store(true)
	require.Eventually(t, func() bool { return afterRestart.Load() > 100 }, 30*time.Second, 5*time.Millisecond,
		"the client reconnects by itself and enqueues again")
	close(stop)
	<-done
	t.Logf("acknowledged %d enqueues, %d failed while the server was down", len(acked), failures.Load())

	// The wake-up subscription comes back by itself too.
	require.Eventually(t, func() bool {
		enqueue(t, b, t0, insert("w"))
		select {
		case q := <-watch.C:
			return q == "w"
		case <-time.After(50 * time.Millisecond):
			return false
		}
	}, 30*time.Second, time.Millisecond, "QueueWatch resubscribes after the restart")

	// Every acknowledged enqueue is there.
	for _, id := range acked {
		_, err := b.JobGet(ctx, &backend.JobGetParams{ID: id})
		require.NoError(t, err, "acknowledged job %s lost", id)
	}
	// Half of the in-flight jobs finish under their leases; the rest are
	// rescued once their leases expire.
	var outs []*backend.JobOutcome
	for _, j := range running[:25] {
		outs = append(outs, &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted})
	}
	fin, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: t0.Add(time.Second)})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	resc, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, resc.Jobs, 25)
	ql, err := b.QueueList(ctx, &backend.QueueListParams{Now: t0})
	require.NoError(t, err)
	require.EqualValues(t, len(acked)-25, ql.Queues[0].Counts[backend.StateQueued])
	require.EqualValues(t, 25, ql.Queues[0].Counts[backend.StateCompleted])
	require.Zero(t, ql.Queues[0].Counts[backend.StateRunning])
}

// Fault 6: a worker is cut off from the backend for longer than its lease;
// meanwhile the job is rescued and re-run elsewhere; once the worker
// reconnects, its late completion is rejected.
func TestFaultWorkerCutOff(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	direct, _ := openAt(t, srv.url())
	proxy := backendtest.StartCutProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.port))
	cutURL := backendtest.WithQueryParam(t, fmt.Sprintf("redis://%s/0?dial_timeout=1s&read_timeout=1s&write_timeout=1s", proxy.Addr()), "prefix", direct.Prefix())
	worker, err := Open(t.Context(), cutURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = worker.Close() })
	ctx := t.Context()

	id := enqueue(t, direct, t0, insert("q"))[0].ID
	mine := claim(t, worker, "q", 1, t0, 5*time.Second)[0]

	proxy.SetCut(true)
	_, err = worker.LeaseExtend(ctx, &backend.LeaseExtendParams{Leases: []backend.Lease{{ID: id, LeaseToken: mine.LeaseToken}},
		Duration: 5 * time.Second, Now: t0.Add(time.Second)})
	require.Error(t, err, "the worker is cut off")

	resc, err := direct.JobRescue(ctx, &backend.JobRescueParams{Now: t0.Add(10 * time.Second)})
	require.NoError(t, err)
	require.Len(t, resc.Jobs, 1)
	other := claim(t, direct, "q", 1, t0.Add(10*time.Second), 30*time.Second)[0]
	fin, err := direct.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
		{ID: id, LeaseToken: other.LeaseToken, Outcome: backend.OutcomeCompleted, Result: []byte(`"elsewhere"`)},
	}, Now: t0.Add(11 * time.Second)})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)

	proxy.SetCut(false)
	var late *backend.JobFinishResult
	require.Eventually(t, func() bool {
		late, err = worker.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
			{ID: id, LeaseToken: mine.LeaseToken, Outcome: backend.OutcomeCompleted, Result: []byte(`"late"`)},
		}, Now: t0.Add(12 * time.Second)})
		return err == nil
	}, 20*time.Second, 10*time.Millisecond, "the worker reconnects by itself")
	require.Equal(t, []string{id}, late.LeaseLost, "late completion rejected")
	j, err := direct.JobGet(ctx, &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.JSONEq(t, `"elsewhere"`, string(j.Result))
	require.Equal(t, 2, j.Attempt)
}

// Fault 7: a producer retries the same enqueue after a timeout, and many
// producers enqueue one unique key at once: exactly one job each time.
func TestFaultUniqueReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	j := insert("q")
	first := enqueue(t, b, t0, j)[0]
	again := enqueue(t, b, t0, j)[0]
	require.False(t, first.Duplicate)
	require.Equal(t, j.ID, again.ID)
	require.True(t, again.Duplicate, "a replayed ID is not stored twice")

	const n = 20
	outs := make([]backend.EnqueueOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := b.JobEnqueue(ctx, &backend.JobEnqueueParams{Now: t0, Jobs: []*backend.JobInsert{
				insert("q", func(j *backend.JobInsert) { j.UniqueKey = "report:42" }),
			}})
			if err != nil {
				t.Error(err)
				return
			}
			outs[i] = res.Jobs[0]
		})
	}
	wg.Wait()
	stored := 0
	for _, o := range outs {
		if !o.Duplicate {
			stored++
		}
		require.Equal(t, outs[0].ID, o.ID, "every producer is told the same job")
	}
	require.Equal(t, 1, stored)
	list, err := b.JobList(ctx, &backend.JobListParams{})
	require.NoError(t, err)
	require.Len(t, list.Jobs, 2)
}

// Fault 10: a job delayed longer than the lease runs once: sweeps of the
// rescuer and promoter before and after its run_at never run it twice.
func TestFaultDelayedLongerThanLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	const lease = 10 * time.Second
	runAt := t0.Add(3 * lease)
	id := enqueue(t, b, t0, insert("q", func(j *backend.JobInsert) { j.RunAt = runAt }))[0].ID
	runs := 0
	for now := t0; now.Before(t0.Add(8 * lease)); now = now.Add(lease / 3) {
		_, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: now})
		require.NoError(t, err)
		_, err = b.JobPromote(ctx, &backend.JobPromoteParams{Now: now})
		require.NoError(t, err)
		for _, j := range claim(t, b, "q", 10, now, lease) {
			require.Equal(t, id, j.ID)
			require.False(t, now.Before(runAt), "claimed before run_at")
			runs++
			_, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
				{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted},
			}, Now: now.Add(lease / 2)})
			require.NoError(t, err)
		}
	}
	require.Equal(t, 1, runs)
	j, err := b.JobGet(ctx, &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Equal(t, 1, j.Attempt)
}

// A server that lost its scripts (SCRIPT FLUSH here; a restart without
// persistence of the script cache likewise) answers the enqueue's prepared
// EVALSHA with NOSCRIPT: the enqueue loads the scripts again and stores the
// job, both on the single-call path and on the pipelined one (a queue not
// yet registered, so its SADD rides along).
func TestFaultEnqueueAfterScriptFlush(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	b, _ := openAt(t, srv.url())
	ctx := t.Context()
	enqueue(t, b, t0, insert("q")) // registers q: the next enqueue is one EVALSHA
	for _, queue := range []string{"q", "fresh"} {
		require.NoError(t, b.rdb.ScriptFlush(ctx).Err())
		j := insert(queue)
		out := enqueue(t, b, t0, j)
		require.Equal(t, backend.EnqueueOutcome{ID: j.ID, State: backend.StateQueued}, out[0], queue)
		got, err := b.JobGet(ctx, &backend.JobGetParams{ID: j.ID})
		require.NoError(t, err, queue)
		require.Equal(t, backend.StateQueued, got.State, queue)
	}
}
