package harness

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeSystem is an in-process job system: a buffered channel as the queue.
type fakeSystem struct {
	noBatch   bool
	failAfter int64 // Enqueue fails once this many jobs were enqueued (0 = never)

	queue    chan int64
	enqueued atomic.Int64
	resets   atomic.Int64

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

func newFake() *fakeSystem { return &fakeSystem{queue: make(chan int64, 100_000)} }

func (f *fakeSystem) Name() string { return "fake" }

func (f *fakeSystem) Reset(ctx context.Context) error {
	f.resets.Add(1)
	for {
		select {
		case <-f.queue:
		default:
			return nil
		}
	}
}

func (f *fakeSystem) Enqueue(ctx context.Context, sentAt int64) error {
	if n := f.enqueued.Add(1); f.failAfter > 0 && n > f.failAfter {
		return errors.New("store is full")
	}
	f.queue <- sentAt
	return nil
}

func (f *fakeSystem) EnqueueBatch(ctx context.Context, sentAt int64, n int) error {
	if f.noBatch {
		return ErrNoBatch
	}
	for range n {
		if err := f.Enqueue(ctx, sentAt); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeSystem) Start(ctx context.Context, p *StartParams) error {
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancel, f.started = cancel, true
	for range p.Workers {
		f.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case t := <-f.queue:
					if p.OnStart != nil {
						p.OnStart(t)
					}
					p.Done.Add(1)
				}
			}
		})
	}
	return nil
}

func (f *fakeSystem) Stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
		f.wg.Wait()
		f.cancel = nil
	}
	return nil
}

func setup(t *testing.T) (context.Context, *fakeSystem) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx, newFake()
}

func TestInsert(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	res, err := Run(ctx, f, Config{Workload: WorkloadInsert, Jobs: 1000})
	require.NoError(t, err)
	require.Equal(t, "fake", res.System)
	require.Equal(t, WorkloadInsert, res.Workload)
	require.Equal(t, 1000, res.Jobs)
	require.EqualValues(t, 1000, f.enqueued.Load(), "exactly N enqueues")
	require.Positive(t, res.JobsPerSec)
	require.LessOrEqual(t, res.P50Ms, res.P99Ms)
	require.EqualValues(t, 2, f.resets.Load(), "reset before and after")
	require.Empty(t, f.queue, "namespace left clean")
}

func TestBatch(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	res, err := Run(ctx, f, Config{Workload: WorkloadBatch, Jobs: 2500})
	require.NoError(t, err)
	require.EqualValues(t, 2500, f.enqueued.Load())
	require.Positive(t, res.JobsPerSec)
	require.Empty(t, res.Note)
}

func TestBatchUnsupported(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	f.noBatch = true
	res, err := Run(ctx, f, Config{Workload: WorkloadBatch, Jobs: 2500})
	require.NoError(t, err)
	require.Contains(t, res.Note, "n/a")
	require.Zero(t, res.JobsPerSec)
}

func TestWork(t *testing.T) {
	t.Parallel()
	for _, noBatch := range []bool{false, true} {
		ctx, f := setup(t)
		f.noBatch = noBatch
		res, err := Run(ctx, f, Config{Workload: WorkloadWork, Jobs: 3000, Workers: 8})
		require.NoError(t, err)
		require.EqualValues(t, 3000, f.enqueued.Load(), "noBatch=%v", noBatch)
		require.Equal(t, 8, res.Workers)
		require.Positive(t, res.JobsPerSec)
		require.Positive(t, res.Seconds)
		f.mu.Lock()
		require.True(t, f.started)
		require.Nil(t, f.cancel, "workers stopped")
		f.mu.Unlock()
	}
}

func TestWorkTimesOutWhenJobsAreNotCompleted(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	f.failAfter = 0
	// Zero workers would default to 100, so make completions impossible by
	// resetting the queue as soon as it is filled: a system losing jobs must
	// yield an error, not a figure.
	lossy := &losingSystem{fakeSystem: f}
	_, err := Run(ctx, lossy, Config{Workload: WorkloadWork, Jobs: 100, Timeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "of 100 completed")
}

// losingSystem drops every job before its workers start.
type losingSystem struct{ *fakeSystem }

func (l *losingSystem) Start(ctx context.Context, p *StartParams) error {
	_ = l.fakeSystem.Reset(ctx)
	return l.fakeSystem.Start(ctx, p)
}

func TestEnqueueErrorIsReported(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	f.failAfter = 10
	_, err := Run(ctx, f, Config{Workload: WorkloadInsert, Jobs: 100})
	require.ErrorContains(t, err, "store is full")
	require.EqualValues(t, 2, f.resets.Load(), "reset after a failure too")
}

func TestLatency(t *testing.T) {
	t.Parallel()
	ctx, f := setup(t)
	res, err := Run(ctx, f, Config{Workload: WorkloadLatency, Workers: 4})
	require.NoError(t, err)
	require.Equal(t, LatencyRate*int(LatencyDuration/time.Second), res.Jobs)
	require.InDelta(t, LatencyDuration.Seconds(), res.Seconds, 2, "machine too loaded to pace 500 jobs/s?")
	require.InDelta(t, float64(LatencyRate), res.JobsPerSec, LatencyRate*0.4)
	require.Positive(t, res.P99Ms)
	require.LessOrEqual(t, res.P50Ms, res.P99Ms)
}

func TestParseWorkloads(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":             Workloads,
		"all":          Workloads,
		"work":         {"work"},
		"insert,batch": {"insert", "batch"},
	} {
		got, err := ParseWorkloads(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseWorkloads("insert,nope")
	require.ErrorContains(t, err, `"nope"`)
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p99 := percentiles(ds)
	require.Equal(t, 50.0, p50)
	require.Equal(t, 99.0, p99)
	p50, p99 = percentiles(nil)
	require.Zero(t, p50)
	require.Zero(t, p99)
}

func TestCounterWait(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	go func() {
		for range 10 {
			c.Add(1)
		}
	}()
	require.NoError(t, c.Wait(context.Background(), 10))
	require.False(t, c.Last().IsZero())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Wait(ctx, 11), context.Canceled)
}
