package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/memory"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// counting wraps a backend and counts the batch calls the runtime makes.
type counting struct {
	backend.Backend
	claims, finishes, extends atomic.Int64
	maxFinish, maxExtend      atomic.Int64
	extendFails               atomic.Bool
	poison                    atomic.Value // job ID whose outcome JobFinish refuses
}

func storeMax(a *atomic.Int64, n int64) {
	for {
		cur := a.Load()
		if n <= cur || a.CompareAndSwap(cur, n) {
			return
		}
	}
}

func (c *counting) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	c.claims.Add(1)
	return c.Backend.JobClaim(ctx, p)
}

func (c *counting) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	c.finishes.Add(1)
	if poison, _ := c.poison.Load().(string); poison != "" {
		for _, o := range p.Jobs {
			if o.ID == poison {
				return nil, errors.New("store refuses this outcome")
			}
		}
	}
	storeMax(&c.maxFinish, int64(len(p.Jobs)))
	return c.Backend.JobFinish(ctx, p)
}

func (c *counting) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	c.extends.Add(1)
	if c.extendFails.Load() {
		return nil, errors.New("store unreachable")
	}
	storeMax(&c.maxExtend, int64(len(p.Leases)))
	return c.Backend.LeaseExtend(ctx, p)
}

// QueueWatch is forwarded explicitly: embedding the port interface hides
// the optional Waker.
func (c *counting) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	return c.Backend.(backend.Waker).QueueWatch(ctx, p)
}

type fixedPolicy time.Duration

func (p fixedPolicy) NextRetry(*backend.Job, error) time.Duration { return time.Duration(p) }

type bundle struct {
	b    *counting
	ctx  context.Context
	t    *testing.T
	kind map[string]*Kind
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	m, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return &bundle{b: &counting{Backend: m}, ctx: t.Context(), t: t, kind: map[string]*Kind{}}
}

func (b *bundle) handle(kind string, f HandlerFunc) {
	b.kind[kind] = &Kind{Handler: f}
}

func (b *bundle) start(mod func(*Config)) *Worker {
	cfg := Config{
		Backend:           b.b,
		Kinds:             b.kind,
		Queues:            map[string]int{"default": 4},
		ID:                "test-worker",
		LeaseDuration:     2 * time.Second,
		HeartbeatInterval: 50 * time.Millisecond,
		PollInterval:      20 * time.Millisecond,
		RetryPolicy:       fixedPolicy(time.Millisecond),
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	w, err := New(cfg)
	require.NoError(b.t, err)
	require.NoError(b.t, w.Start(context.Background()))
	b.t.Cleanup(func() { _ = w.Stop(context.Background()) })
	return w
}

func (b *bundle) enqueue(n int, kind string) []string {
	ids := make([]string, n)
	ins := make([]*backend.JobInsert, n)
	for i := range ins {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		ins[i] = &backend.JobInsert{ID: ids[i], Kind: kind, Queue: "default", Args: json.RawMessage(`{}`), MaxAttempts: 3, Timeout: time.Minute, RunAt: time.Now()}
	}
	_, err := b.b.JobEnqueue(b.ctx, &backend.JobEnqueueParams{Jobs: ins, Now: time.Now()})
	require.NoError(b.t, err)
	return ids
}

func (b *bundle) waitState(id string, s backend.JobState) *backend.Job {
	var j *backend.Job
	require.Eventually(b.t, func() bool {
		var err error
		j, err = b.b.JobGet(b.ctx, &backend.JobGetParams{ID: id})
		return err == nil && j.State == s
	}, 20*time.Second, 5*time.Millisecond, "job %s never %s", id, s)
	return j
}

func TestBatching(t *testing.T) {
	// 500 jobs, 100 slots: claims take up to the free slots in one call,
	// outcomes go back in batches, not one call per job.
	b := setup(t)
	var runs atomic.Int64
	b.handle("k", func(context.Context, *backend.Job) (json.RawMessage, error) {
		runs.Add(1)
		return nil, nil
	})
	ids := b.enqueue(500, "k")
	b.start(func(c *Config) { c.Queues = map[string]int{"default": 100} })
	for _, id := range ids {
		b.waitState(id, backend.StateCompleted)
	}
	require.Equal(t, int64(500), runs.Load())
	require.Less(t, b.b.finishes.Load(), int64(250), "outcomes are batched")
	require.Greater(t, b.b.maxFinish.Load(), int64(1), "some batch carried many outcomes")
}

func TestHeartbeatExtendsAllLeasesInOneCall(t *testing.T) {
	b := setup(t)
	var started sync.WaitGroup
	started.Add(3)
	release := make(chan struct{})
	b.handle("k", func(ctx context.Context, j *backend.Job) (json.RawMessage, error) {
		started.Done()
		<-release
		return nil, nil
	})
	ids := b.enqueue(3, "k")
	b.start(nil)
	started.Wait()
	// Compare with the lease as it was before these heartbeats rather than
	// with the wall clock, which a loaded machine can push past any margin.
	j0, err := b.b.JobGet(b.ctx, &backend.JobGetParams{ID: ids[0]})
	require.NoError(t, err)
	before := b.b.extends.Load()
	require.Eventually(t, func() bool { return b.b.extends.Load() >= before+2 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, int64(3), b.b.maxExtend.Load(), "every running lease in one call")
	j, err := b.b.JobGet(b.ctx, &backend.JobGetParams{ID: ids[0]})
	require.NoError(t, err)
	require.True(t, j.LeaseExpiresAt.After(j0.LeaseExpiresAt), "lease pushed forward: %s, was %s", j.LeaseExpiresAt, j0.LeaseExpiresAt)
	close(release)
	for _, id := range ids {
		b.waitState(id, backend.StateCompleted)
	}
}

func TestLeaseLostCancelsHandlerAndFencesOutcome(t *testing.T) {
	// RELIABILITY fault 2: the lease expires and the job is rescued; the
	// next heartbeat reports it lost, the handler's context is cancelled,
	// and the stale outcome is rejected. The job runs again and completes.
	b := setup(t)
	var runs atomic.Int64
	cancelled := make(chan error, 1)
	b.handle("k", func(ctx context.Context, j *backend.Job) (json.RawMessage, error) {
		if runs.Add(1) == 1 {
			<-ctx.Done()
			cancelled <- ctx.Err()
			return json.RawMessage(`"stale"`), nil // success, but fenced
		}
		return json.RawMessage(`"fresh"`), nil
	})
	ids := b.enqueue(1, "k")
	b.start(nil)
	require.Eventually(t, func() bool { return runs.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	// Rescue as if the lease had lapsed.
	res, err := b.b.JobRescue(b.ctx, &backend.JobRescueParams{Now: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	select {
	case err := <-cancelled:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("handler context not cancelled after the lease was lost")
	}
	j := b.waitState(ids[0], backend.StateCompleted)
	require.JSONEq(t, `"fresh"`, string(j.Result), "the stale success was fenced away")
	require.Equal(t, 2, j.Attempt)
}

func TestWakeUpStartsJobWithoutPolling(t *testing.T) {
	b := setup(t)
	b.handle("k", func(context.Context, *backend.Job) (json.RawMessage, error) { return nil, nil })
	b.start(func(c *Config) { c.PollInterval = time.Hour })
	// Let the fetch loop go idle, then enqueue: only a wake-up can start it.
	require.Eventually(t, func() bool { return b.b.claims.Load() >= 1 }, 10*time.Second, time.Millisecond)
	ids := b.enqueue(1, "k")
	b.waitState(ids[0], backend.StateCompleted)
}

func TestConcurrencyBound(t *testing.T) {
	b := setup(t)
	var cur, peak atomic.Int64
	b.handle("k", func(context.Context, *backend.Job) (json.RawMessage, error) {
		n := cur.Add(1)
		storeMax(&peak, n)
		time.Sleep(2 * time.Millisecond) // simulated work, not a wait
		cur.Add(-1)
		return nil, nil
	})
	ids := b.enqueue(60, "k")
	b.start(func(c *Config) { c.Queues = map[string]int{"default": 3} })
	for _, id := range ids {
		b.waitState(id, backend.StateCompleted)
	}
	require.LessOrEqual(t, peak.Load(), int64(3))
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	m, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	ok := Config{Backend: m, ID: "w", RetryPolicy: fixedPolicy(0)}
	require.NoError(t, ok.Validate())
	for name, mod := range map[string]func(*Config){
		"no backend":     func(c *Config) { c.Backend = nil },
		"no id":          func(c *Config) { c.ID = "" },
		"no policy":      func(c *Config) { c.RetryPolicy = nil },
		"zero slots":     func(c *Config) { c.Queues = map[string]int{"q": 0} },
		"heartbeat>=ttl": func(c *Config) { c.LeaseDuration, c.HeartbeatInterval = time.Second, time.Second },
	} {
		c := ok
		mod(&c)
		require.Error(t, c.Validate(), name)
	}
}

func TestTaskCtx(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")

	t.Run("DeadlineWithoutDone", func(t *testing.T) {
		var c taskCtx
		c.init(newBaseInfo(parent), &JobValue{}, time.Now().Add(-time.Second), time.Millisecond)
		require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		<-c.Done()
		require.Nil(t, c.runtimeCause())
	})
	t.Run("DoneArmsTimer", func(t *testing.T) {
		var c taskCtx
		c.init(newBaseInfo(parent), &JobValue{}, time.Now(), 20*time.Millisecond)
		<-c.Done()
		require.True(t, c.deadlineExceeded())
	})
	t.Run("CancelWithCauseReachesChildren", func(t *testing.T) {
		var c taskCtx
		c.init(newBaseInfo(parent), &JobValue{}, time.Now(), time.Hour)
		child, stop := context.WithCancel(&c)
		defer stop()
		after := make(chan struct{})
		context.AfterFunc(&c, func() { close(after) })
		c.cancel(context.Canceled, ErrShutdown)
		<-child.Done()
		<-after
		require.ErrorIs(t, child.Err(), context.Canceled)
		require.ErrorIs(t, c.runtimeCause(), ErrShutdown)
		require.Equal(t, "v", child.Value(key{}))
	})
	t.Run("ParentCancellation", func(t *testing.T) {
		p, cancel := context.WithCancelCause(parent)
		var c taskCtx
		c.init(newBaseInfo(p), &JobValue{}, time.Now(), 0)
		_, ok := c.Deadline()
		require.False(t, ok)
		cancel(errors.New("parent gone"))
		<-c.Done()
		require.ErrorIs(t, c.Err(), context.Canceled)
	})
	t.Run("JobValue", func(t *testing.T) {
		job := &backend.Job{ID: "j1"}
		var c taskCtx
		jv := &JobValue{}
		jv.init(job, slog.Default())
		c.init(newBaseInfo(parent), jv, time.Now(), 0)
		require.Same(t, job, JobFromContext(&c))
		require.NotNil(t, LoggerFromContext(&c))
		require.NoError(t, SetProgress(&c, map[string]int{"n": 1}))
		require.JSONEq(t, `{"n":1}`, string(*jv.progress.Load()))
		require.ErrorIs(t, SetProgress(context.Background(), 1), ErrNoJob)
	})
}

func TestExecuteRecoversPanic(t *testing.T) {
	t.Parallel()
	_, err := Execute(context.Background(), HandlerFunc(func(context.Context, *backend.Job) (json.RawMessage, error) {
		panic("boom")
	}), &backend.Job{})
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "boom", pe.Value)
	require.Contains(t, pe.Stack, "TestExecuteRecoversPanic")
}

func TestStopReportsEveryOutcome(t *testing.T) {
	// Stop right after the last handler returned: every outcome must still
	// be reported (regression: an outcome handed to the completer after its
	// final flush was lost).
	b := setup(t)
	const n = 200
	for range 5 {
		var runs atomic.Int64
		all := make(chan struct{})
		b.kind = map[string]*Kind{"k": {Handler: HandlerFunc(func(context.Context, *backend.Job) (json.RawMessage, error) {
			if runs.Add(1) == n {
				close(all)
			}
			return nil, nil
		})}}
		ids := b.enqueue(n, "k")
		w := b.start(func(c *Config) { c.Queues = map[string]int{"default": 64} })
		<-all
		require.NoError(t, w.Stop(context.Background()))
		for _, id := range ids {
			j, err := b.b.JobGet(b.ctx, &backend.JobGetParams{ID: id})
			require.NoError(t, err)
			require.Equal(t, backend.StateCompleted, j.State, "reported before Stop returned")
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	// RELIABILITY fault 17: start/stop loops leave no goroutine behind. Not
	// parallel: it counts the process's goroutines.
	m, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	defer m.Close()
	before := runtime.NumGoroutine()
	for range 10 {
		kinds := map[string]*Kind{"k": {Handler: HandlerFunc(func(ctx context.Context, _ *backend.Job) (json.RawMessage, error) {
			<-ctx.Done() // some jobs are running at Stop
			return nil, ctx.Err()
		})}}
		w, err := New(Config{Backend: m, Kinds: kinds, ID: "w", RetryPolicy: fixedPolicy(0), ShutdownGrace: time.Millisecond,
			Queues: map[string]int{"default": 8, "other": 2}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		require.NoError(t, w.Start(context.Background()))
		ins := []*backend.JobInsert{{ID: uuid.Must(uuid.NewV7()).String(), Kind: "k", Queue: "default", Args: json.RawMessage(`{}`), MaxAttempts: 1, Timeout: time.Minute, RunAt: time.Now()}}
		_, err = m.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: ins, Now: time.Now()})
		require.NoError(t, err)
		require.NoError(t, w.Stop(context.Background()))
	}
	ok := assertEventually(func() bool { return runtime.NumGoroutine() <= before })
	if !ok {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf)
	}
}

func assertEventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func TestCutOffWorkerCancelsHandlersWhenLeaseRunsOut(t *testing.T) {
	// RELIABILITY fault 6, worker side: heartbeats fail for longer than the
	// lease; the handler is cancelled (its job may run elsewhere) without
	// waiting for the store to answer again.
	b := setup(t)
	cancelled := make(chan struct{})
	b.handle("k", func(ctx context.Context, j *backend.Job) (json.RawMessage, error) {
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	})
	b.enqueue(1, "k")
	b.b.extendFails.Store(true)
	begin := time.Now()
	b.start(func(c *Config) { c.LeaseDuration, c.HeartbeatInterval = 300*time.Millisecond, 50*time.Millisecond })
	select {
	case <-cancelled:
		require.GreaterOrEqual(t, time.Since(begin), 300*time.Millisecond, "not before the lease ran out")
	case <-time.After(10 * time.Second):
		t.Fatal("handler not cancelled after its lease ran out")
	}
}

func TestPoisonOutcomeDoesNotWedgeReports(t *testing.T) {
	// The store refuses every batch holding one job's outcome while Ping
	// works: that outcome is dropped (its lease will expire) and the others
	// are reported.
	b := setup(t)
	release := make(chan struct{})
	b.handle("k", func(ctx context.Context, j *backend.Job) (json.RawMessage, error) {
		<-release
		return nil, nil
	})
	ids := b.enqueue(5, "k")
	b.b.poison.Store(ids[2])
	b.start(nil)
	close(release)
	for i, id := range ids {
		if i != 2 {
			b.waitState(id, backend.StateCompleted)
		}
	}
	j, err := b.b.JobGet(b.ctx, &backend.JobGetParams{ID: ids[2]})
	require.NoError(t, err)
	require.Equal(t, backend.StateRunning, j.State, "left to the rescuer")
}

func TestInvalidJSONResultFails(t *testing.T) {
	b := setup(t)
	b.handle("k", func(context.Context, *backend.Job) (json.RawMessage, error) {
		return json.RawMessage(`{not json`), nil
	})
	ids := b.enqueue(1, "k")
	b.start(nil)
	j := b.waitState(ids[0], backend.StateFailed)
	require.Contains(t, j.Errors[0].Message, "not valid JSON")
}

func TestPoolStartsBlockingHandlersTogether(t *testing.T) {
	// The chained wake-ups still run every slot at once when handlers block.
	t.Parallel()
	const slots = 50
	var started sync.WaitGroup
	started.Add(slots)
	release := make(chan struct{})
	p := newPool(slots, func(*task) {
		started.Done()
		<-release
	})
	ts := make([]*task, slots)
	for i := range ts {
		ts[i] = &task{}
	}
	p.push(ts[:10])
	p.push(ts[10:])
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatal("some tasks never started: a wake-up was lost")
	}
	close(release)
	p.close()
}
